import { defineQuery } from '@temporalio/workflow';
import type { AnyRunEvent } from '../shared/events';
import type { AnyRunOutput } from '../shared/run-output';

/** The run's output as it stands: status, content so far (also mid-answer), messages, tools, metrics. */
export const runOutputQuery = defineQuery<AnyRunOutput>('runOutput');

/** The run's events from an index on. Also answers after the run has closed (the worker replays it). */
export const runEventsQuery = defineQuery<AnyRunEvent[], [number]>('runEvents');

/** Memo key under which a run that ends `CANCELLED` or `ERROR` leaves its output, readable with no worker. */
export const FINAL_OUTPUT_MEMO = 'kernOutput';
