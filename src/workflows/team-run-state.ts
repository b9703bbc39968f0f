import { RunEvent, TeamRunEvent, isContinueEvent, pauseRequirementsOf, type AnyRunEvent } from '../shared/events';
import { seededOutput } from '../shared/forks';
import { outputFromRecordOf, runRecordOf } from '../shared/run-record';
import type { RunError, RunOutput, TeamRunOutput } from '../shared/run-output';
import { RunStatus, isTerminalStatus } from '../shared/run-status';
import type { AgentRunInput, TeamRunInput } from '../shared/specs';
import { ModelRunState } from './model-run-state';
import type { RunEventLog } from './run-stream';

/** A member's run as the team records it: an agent's or a nested team's output. */
type MemberOutput = RunOutput | TeamRunOutput;

/** What a member run was started with. */
type MemberInput = AgentRunInput | TeamRunInput;

/**
 * The state of one team run: its leader's model loop (as an agent's), plus its member runs in `memberResponses`,
 * recorded when they start and replaced by their outputs when they end.
 */
export class TeamRunState extends ModelRunState<TeamRunOutput> {
  constructor(input: TeamRunInput, log: RunEventLog, now: () => Date = () => new Date()) {
    const continued = input.continued;
    const output = continued
      ? (continued.output as TeamRunOutput)
      : seededOutput(outputFromRecordOf.team(runRecordOf(input)), input.seed);
    super(output, log, now, continued?.startedAt);
  }

  /** A member run has started. */
  memberStarted(member: MemberInput): void {
    this.recordMember(outputFromRecordOf[member.kind](runRecordOf(member), RunStatus.running));
  }

  /** A member run has ended with this output. */
  memberEnded(output: MemberOutput): void {
    this.recordMember(output);
  }

  /** A member run failed or was cancelled on its own, without an output of its own to show. */
  memberStopped(member: MemberInput, status: RunStatus, error?: RunError): void {
    this.recordMember({ ...outputFromRecordOf[member.kind](runRecordOf(member), status), ...(error ? { error } : {}) });
  }

  /** The run ids of member runs that have not ended. */
  openMemberRunIds(): string[] {
    return this.output.memberResponses.filter((member) => !isTerminalStatus(member.status)).map((m) => m.runId);
  }

  /**
   * Ends the member runs that have not ended (the team was cancelled), as their forwarded terminal events say: a
   * member whose last event was an error stays `ERROR`; the others are `CANCELLED`, with the partial answer their
   * `RunCancelled` event carried, if that has arrived.
   */
  cancelOpenMembers(): void {
    const events = this.log.read();
    for (const member of this.output.memberResponses) {
      if (isTerminalStatus(member.status)) continue;
      const end = terminalEventOf(events, member.runId);
      if (end && (end.event === RunEvent.runError || end.event === TeamRunEvent.runError)) {
        member.status = RunStatus.error;
        member.error = end.error;
      } else {
        member.status = RunStatus.cancelled;
      }
      member.content = end?.content ?? member.content;
      member.updatedAt = this.now().toISOString();
    }
  }

  /** A member's pause and continue also show on its entry in `memberResponses`. */
  override descendantEvent(event: AnyRunEvent): void {
    super.descendantEvent(event);
    const member = this.output.memberResponses.find((candidate) => candidate.runId === event.runId);
    if (!member || isTerminalStatus(member.status)) return;
    if (pauseRequirementsOf(event)) member.status = RunStatus.paused;
    else if (isContinueEvent(event)) member.status = RunStatus.running;
  }

  /** Sets the team's answer without a model turn: a routed team answers with its member's answer. */
  answer(content: string): void {
    this.output.content = content;
    this.emitContent(content);
  }

  private recordMember(output: MemberOutput): void {
    const members = this.output.memberResponses;
    const index = members.findIndex((member) => member.runId === output.runId);
    if (index >= 0) members[index] = output;
    else members.push(output);
  }
}

/** A member run's forwarded `RunCancelled` or `RunError` event, if it has arrived. */
function terminalEventOf(events: readonly AnyRunEvent[], runId: string) {
  for (const event of events) {
    if (event.runId !== runId) continue;
    switch (event.event) {
      case RunEvent.runCancelled:
      case TeamRunEvent.runCancelled:
      case RunEvent.runError:
      case TeamRunEvent.runError:
        return event;
      default:
        break;
    }
  }
  return undefined;
}
