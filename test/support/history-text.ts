import type { WorkflowHandle } from '@temporalio/client';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/**
 * Every text a history holds, payloads decoded: inputs, results, memos, search attributes, signals, updates and
 * failures carry their data as bytes (base64 in JSON), so a search of `JSON.stringify(history)` would miss them.
 */
export function historyText(history: History): string {
  const texts: string[] = [];
  const visit = (value: unknown): void => {
    if (value instanceof Uint8Array) {
      texts.push(Buffer.from(value).toString('utf8'));
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === 'object' && value !== null) {
      Object.values(value).forEach(visit);
    } else if (typeof value === 'string') {
      texts.push(value);
    }
  };
  visit(history);
  return texts.join('\n');
}
