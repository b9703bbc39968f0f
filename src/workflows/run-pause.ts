import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { KernActivities } from '../activities';
import {
  ANSWERS_INVALID,
  PAUSE_TIMED_OUT,
  RUN_NOT_PAUSED,
  answersProblem,
  type ContinueRequest,
  type RequirementAnswer,
  type RunRequirement,
} from '../shared/requirements';
import { continueRunUpdate } from '../shared/messages';
import { hasPatch } from './patches';

const { checkUserInput } = proxyActivities<KernActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

/** The run's failure type when its answers failed their tools' checks {@link MAX_INVALID_ANSWERS} times. */
export const TOO_MANY_INVALID_ANSWERS = 'TooManyInvalidAnswers';

/**
 * How many answers may fail their tools' checks before the run ends `ERROR`. Each is an update Temporal has
 * accepted, and an execution takes 2,000 at most: past that the run could never be continued, and would wait for good.
 */
export const MAX_INVALID_ANSWERS = 100;

const BOUNDED_INVALID_ANSWERS = 'kern-bounded-invalid-answers';
/** A pause with no timeout waits on a labelled timer too, so its history (and the UI's Compact view) shows it. */
const PAUSE_ON_LABELLED_TIMER = 'kern-pause-on-labelled-timer';

/** How long one labelled wait of a pause with no timeout lasts before it is set again (an event a year). */
const LABELLED_WAIT_MS = 365 * 24 * 60 * 60 * 1000;

/**
 * Where a paused run waits for people: the `continueRun` update's handler. The run's own tool calls that need a
 * person wait here ({@link answersFor}); a team's or workflow's members wait in their own runs, and the client sends
 * their answers there.
 *
 * The update's validator refuses, before anything is written to history, a run that is not waiting, one already
 * taking answers, and answers that do not fit (unknown, missing or twice-given ids, the wrong kind of answer). User
 * input is then checked against the tool's zod schema by an activity (only a worker has the schema); input that
 * fails it fails the update, and the run goes on waiting, up to {@link MAX_INVALID_ANSWERS} such failures.
 */
export class PauseGate {
  private waiting: RunRequirement[] | undefined;
  private answers: RequirementAnswer[] | undefined;
  /** A continue was accepted and is being checked or taken: a second one is refused. */
  private taking = false;
  /** Answers that failed their tools' checks, in all of the run's pauses. */
  private invalidAnswers = 0;

  constructor(
    private readonly runId: string,
    /** Everything the run waits for now (its members' too), to say why an answer does not fit. */
    private readonly openRequirements: () => RunRequirement[] | undefined,
  ) {
    setHandler(continueRunUpdate, (request) => this.take(request), { validator: (request) => this.check(request) });
  }

  /** Waits until a person has answered `requirements` (and the answers have passed their checks). */
  async answersFor(requirements: RunRequirement[], timeoutMs: number | undefined): Promise<RequirementAnswer[]> {
    this.waiting = requirements;
    try {
      const summary = `paused: waiting for a person (${requirements.map((r) => r.toolExecution.toolName).join(', ')})`;
      const answeredOrExhausted = () => this.answers !== undefined || this.invalidAnswers >= MAX_INVALID_ANSWERS;
      if (timeoutMs === undefined && !hasPatch(PAUSE_ON_LABELLED_TIMER)) {
        await condition(answeredOrExhausted);
      } else if (timeoutMs === undefined) {
        // No timeout: the labelled wait is set again each year, for as long as nobody answers. Its label says so,
        // so that the timer's year does not read as a deadline.
        const untimed = `${summary}, with no time limit`;
        while (!(await condition(answeredOrExhausted, LABELLED_WAIT_MS, { summary: untimed }))) continue;
      } else if (!(await condition(answeredOrExhausted, timeoutMs, { summary }))) {
        throw ApplicationFailure.create({
          type: PAUSE_TIMED_OUT,
          message: `nobody answered the run's requirements within its pauseTimeout (${timeoutMs} ms)`,
          nonRetryable: true,
        });
      }
      if (this.answers === undefined) {
        throw ApplicationFailure.create({
          type: TOO_MANY_INVALID_ANSWERS,
          message: `the run's answers failed their tools' checks ${MAX_INVALID_ANSWERS} times; it ends rather than wait for answers it could no longer take`,
          nonRetryable: true,
        });
      }
      return this.answers;
    } finally {
      this.waiting = undefined;
      this.answers = undefined;
      this.taking = false;
    }
  }

  private check(request: ContinueRequest): void {
    if (!this.waiting || this.taking) {
      const open = this.openRequirements() ?? [];
      const elsewhere = open.length > 0 && !this.waiting;
      throw ApplicationFailure.create({
        type: elsewhere ? ANSWERS_INVALID : RUN_NOT_PAUSED,
        message: elsewhere
          ? `run ${this.runId} waits only for its member runs (${[...new Set(open.map((r) => r.runId))].join(', ')}): ` +
            'answer them there (KernClient.continueRun sends each answer to its run)'
          : this.taking
            ? `run ${this.runId} is already taking answers`
            : `run ${this.runId} is not paused`,
        nonRetryable: true,
      });
    }
    const problem = answersProblem(this.waiting, request?.requirements);
    if (problem) throw ApplicationFailure.create({ type: ANSWERS_INVALID, message: problem, nonRetryable: true });
  }

  private async take(request: ContinueRequest): Promise<void> {
    const requirements = this.waiting!;
    this.taking = true;
    try {
      for (const answer of request.requirements) {
        if (answer.userInput === undefined) continue;
        const requirement = requirements.find((candidate) => candidate.id === answer.id)!;
        const toolName = requirement.toolExecution.toolName;
        const problem = await checkUserInput({ toolName, userInput: answer.userInput });
        if (problem) {
          // Runs started before this bound waited for good answers however many failed; they replay so.
          if (hasPatch(BOUNDED_INVALID_ANSWERS)) this.invalidAnswers += 1;
          throw ApplicationFailure.create({
            type: ANSWERS_INVALID,
            message: `requirement '${answer.id}' (${toolName}): ${problem}`,
            nonRetryable: true,
          });
        }
      }
    } catch (err) {
      this.taking = false;
      throw err;
    }
    this.answers = request.requirements;
    // Resolves once the run has taken them (or ended meanwhile).
    await condition(() => this.waiting !== requirements);
  }
}
