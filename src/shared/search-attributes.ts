import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { RunRecord } from './run-record';
import { RunStatus } from './run-status';

// Registered by temporal-dev.sh and the test server; keep the two lists in step.
/** The run's kern status (`PENDING` … `ERROR`), kept current by the workflow. */
export const kernStatusKey = defineSearchAttributeKey('KernStatus', SearchAttributeType.KEYWORD);
/** `agent`, `team` or `workflow`. */
export const kernKindKey = defineSearchAttributeKey('KernKind', SearchAttributeType.KEYWORD);
/** The id of the agent, team or workflow that runs. */
export const kernComponentIdKey = defineSearchAttributeKey('KernComponentId', SearchAttributeType.KEYWORD);
export const kernSessionIdKey = defineSearchAttributeKey('KernSessionId', SearchAttributeType.KEYWORD);
export const kernUserIdKey = defineSearchAttributeKey('KernUserId', SearchAttributeType.KEYWORD);
export const kernParentRunIdKey = defineSearchAttributeKey('KernParentRunId', SearchAttributeType.KEYWORD);

/** Every kern search attribute, for servers that must register them. */
export const kernSearchAttributes = [
  kernStatusKey,
  kernKindKey,
  kernComponentIdKey,
  kernSessionIdKey,
  kernUserIdKey,
  kernParentRunIdKey,
];

/** The search attributes a run starts with (status `PENDING`): what it is, whose, and under which parent. */
export function runSearchAttributes(record: RunRecord) {
  return [
    { key: kernStatusKey, value: RunStatus.pending },
    { key: kernKindKey, value: record.kind },
    { key: kernComponentIdKey, value: record.componentId },
    { key: kernSessionIdKey, value: record.sessionId },
    ...(record.userId ? [{ key: kernUserIdKey, value: record.userId }] : []),
    ...(record.parentRunId ? [{ key: kernParentRunIdKey, value: record.parentRunId }] : []),
  ];
}
