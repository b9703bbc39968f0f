"""The Python framework's own server, for kern's side-by-side bench (bench/framework-metrics.ts).

One agent, as the bench's kern agent: the OpenAI Responses API at the bench's stand-in model server, and the
framework's SQLite session database (its background runs need one). Started by the bench with the virtual
environment it makes (agno pinned at the version kern's HTTP API follows):

    BENCH_MODEL_URL=http://127.0.0.1:PORT/v1 BENCH_PORT=7778 BENCH_DB=/tmp/bench.db python agentos_server.py

`AGNO_BACKGROUND_MAX_CONCURRENCY` is the framework's own setting: how many background runs execute at once (its
default is 32; 0 lifts the limit).
"""
import os

import uvicorn
from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.models.openai import OpenAIResponses
from agno.os import AgentOS

agent = Agent(
    id="bench-agent",
    name="Bench Agent",
    model=OpenAIResponses(id="bench", base_url=os.environ["BENCH_MODEL_URL"], api_key="bench"),
    db=SqliteDb(db_file=os.environ["BENCH_DB"]),
    telemetry=False,
)

app = AgentOS(agents=[agent], telemetry=False).get_app()

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), log_level="warning", access_log=False)
