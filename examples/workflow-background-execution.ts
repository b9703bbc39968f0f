/**
 * Background workflow execution: the TypeScript twin of the Python framework's background workflow example.
 *
 * A workflow of two steps (a research team, then a content-planning agent) starts in the background and returns
 * PENDING at once; the script polls it every 5 seconds with getRun until hasCompleted(). The workflow runs in
 * Temporal, so it goes on if this script disconnects.
 *
 * Needs a Temporal server and a kern worker whose app lists this workflow (examples/app.ts does), because the
 * worker runs its tools: `npm run demo` starts both. By hand:
 *   ./temporal-dev.sh &  npx kern worker --app examples/app.ts &  npx tsx examples/workflow-background-execution.ts
 */
import { z } from 'zod';
import { Agent, OpenAIResponses, Step, Team, Workflow, defineTool, type WorkflowRunResult } from 'kern';

/** Top stories from Hacker News (its public API). */
const getTopHackernewsStories = defineTool({
  name: 'get_top_hackernews_stories',
  description: 'Get the top stories from Hacker News, with their titles, links and scores.',
  parameters: z.object({ limit: z.number().int().min(1).max(20).default(5) }),
  async execute({ limit }) {
    const api = 'https://hacker-news.firebaseio.com/v0';
    const ids = (await fetchJson(`${api}/topstories.json`)) as number[];
    const stories = await Promise.all(ids.slice(0, limit).map((id) => fetchJson(`${api}/item/${id}.json`)));
    return stories.map((story) => {
      const { title, url, score } = story as { title: string; url?: string; score: number };
      return { title, url, score };
    });
  },
});

/** A stock's latest price (Yahoo Finance's public chart API). */
const getStockPrice = defineTool({
  name: 'get_stock_price',
  description: 'Get the latest price of a stock by its ticker symbol, for example NVDA.',
  parameters: z.object({ symbol: z.string().min(1).max(10) }),
  async execute({ symbol }) {
    const chart = (await fetchJson(
      `https://query1.finance.yahoo.com/v8/finance/chart/${encodeURIComponent(symbol)}?range=1d&interval=1d`,
    )) as { chart: { result?: Array<{ meta: { regularMarketPrice: number; currency: string } }> } };
    const meta = chart.chart.result?.[0]?.meta;
    if (!meta) throw new Error(`no price for ${symbol}`);
    return { symbol, price: meta.regularMarketPrice, currency: meta.currency };
  },
});

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

// Define agents
const hackernewsAgent = new Agent({
  name: 'Hackernews Agent',
  model: new OpenAIResponses({ id: 'gpt-5.2' }),
  tools: [getTopHackernewsStories],
  role: 'Extract key insights and content from Hackernews posts',
});
const financeAgent = new Agent({
  name: 'Finance Agent',
  model: new OpenAIResponses({ id: 'gpt-5.2' }),
  tools: [getStockPrice],
  role: 'Get stock prices and financial data',
});

// Define research team for complex analysis
const researchTeam = new Team({
  name: 'Research Team',
  members: [hackernewsAgent, financeAgent],
  instructions: 'Research tech topics and related stocks',
});

const contentPlanner = new Agent({
  name: 'Content Planner',
  model: new OpenAIResponses({ id: 'gpt-5.2' }),
  instructions: [
    'Plan a content schedule over 4 weeks for the provided topic and research content',
    'Ensure that I have posts for 3 posts per week',
  ],
});

// Define steps
const researchStep = new Step({ name: 'Research Step', team: researchTeam });
const contentPlanningStep = new Step({ name: 'Content Planning Step', agent: contentPlanner });

export const contentCreationWorkflow = new Workflow({
  name: 'Content Creation Workflow',
  description: 'Automated content creation from blog posts to social media',
  steps: [researchStep, contentPlanningStep],
});

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

function printRunResponse(result: WorkflowRunResult | null): void {
  if (!result) {
    console.log('(no result)');
    return;
  }
  console.log(`Status: ${result.status}`);
  for (const step of result.stepResults) console.log(`- ${step.stepName}: ${step.status}`);
  console.log(`\n${result.content}`);
}

export async function main(): Promise<void> {
  console.log('Starting Async Background Workflow Test');

  // Start background execution
  const bgResponse = await contentCreationWorkflow.run('AI trends in 2024', { background: true });
  console.log(`Initial Response: ${bgResponse.status} - ${bgResponse.content}`);
  console.log(`Run ID: ${bgResponse.runId}`);

  // Poll every 5 seconds until completion
  let pollCount = 0;
  for (;;) {
    pollCount += 1;
    console.log(`\nPoll #${pollCount} (every 5s)`);
    const result = await contentCreationWorkflow.getRun(bgResponse.runId);
    if (result === null) {
      console.log('Workflow not found yet, still waiting...');
      if (pollCount > 50) {
        console.log(`Timeout after ${pollCount} attempts`);
        break;
      }
      await sleep(5);
      continue;
    }
    console.log(`Status: ${result.status}`);
    if (result.hasCompleted()) break;
    if (pollCount > 200) {
      console.log(`Timeout after ${pollCount} attempts`);
      break;
    }
    await sleep(5);
  }

  const finalResult = await contentCreationWorkflow.getRun(bgResponse.runId);
  console.log('\nFinal Result:');
  console.log('='.repeat(50));
  printRunResponse(finalResult);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
