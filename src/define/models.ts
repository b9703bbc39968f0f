import type { ModelProvider, ModelSpec } from '../shared/specs';

/** Settings shared by kern's model classes. */
export interface ModelOptions {
  /** The provider's model id, for example `gpt-5-mini`. */
  id: string;
  temperature?: number;
  maxOutputTokens?: number;
  /** Stream the answer from the provider (default true). */
  stream?: boolean;
}

abstract class OpenAIModel {
  abstract readonly provider: ModelProvider;

  constructor(private readonly options: ModelOptions) {}

  get id(): string {
    return this.options.id;
  }

  /** The model as plain data, carried in the run's input. */
  toSpec(): ModelSpec {
    return { provider: this.provider, ...this.options };
  }
}

/** A model behind OpenAI's Responses API. The worker's `OPENAI_API_KEY` / `OPENAI_BASE_URL` apply. */
export class OpenAIResponses extends OpenAIModel {
  readonly provider = 'openai-responses';
}

/** A model behind Chat Completions: OpenAI or any compatible server (Ollama, vLLM, llama.cpp). */
export class OpenAIChat extends OpenAIModel {
  readonly provider = 'openai-chat';
}

/** Any model kern can call. */
export type Model = OpenAIResponses | OpenAIChat;
