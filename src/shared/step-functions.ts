import type { StepOutput } from './run-output';

/** What a step function gets: the workflow's input, the previous step's content, and every earlier step's output. */
export interface StepInput {
  input: string;
  previousStepContent: string | null;
  /** Earlier steps' outputs by step name (nested steps included). */
  previousStepOutputs: Record<string, StepOutput>;
}

/** What a named function does in a workflow. */
export type StepFunctionRole = 'executor' | 'evaluator' | 'selector' | 'endCondition';

/** Input of the `runStepFunction` activity. */
export interface StepFunctionCall {
  runId: string;
  /** The name the function is registered under on the worker. */
  name: string;
  role: StepFunctionRole;
  stepInput: StepInput;
  /** For an end condition: the outputs of the loop iteration that just ended, and its number (from 1). */
  iterationOutputs?: StepOutput[];
  iteration?: number;
}

/** Result of the `runStepFunction` activity, by role. */
export type StepFunctionResult =
  | { role: 'executor'; content: string | null; success: boolean }
  | { role: 'evaluator' | 'endCondition'; verdict: boolean }
  | { role: 'selector'; selected: string[] };
