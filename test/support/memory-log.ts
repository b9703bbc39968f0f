import type { AnyRunEvent } from 'kern';
import type { RunEventLog } from '../../src/workflows/run-stream';

/** A run's event log in memory, for driving run states without Temporal. */
export class MemoryLog implements RunEventLog {
  readonly events: AnyRunEvent[] = [];

  publish(event: AnyRunEvent): void {
    this.events.push({ ...event, eventIndex: this.events.length });
  }

  read(fromIndex = 0): AnyRunEvent[] {
    return this.events.slice(fromIndex);
  }

  names(): string[] {
    return this.events.map((event) => event.event);
  }
}

/** A clock that moves half a second at each reading. */
export function steppingClock(start = '2026-01-01T00:00:00.000Z'): () => Date {
  let time = Date.parse(start);
  return () => new Date((time += 500));
}
