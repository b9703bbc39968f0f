"""Drives kern's HTTP API with the Python framework's own client (agno 3.1.10's AgentOSClient).

    npm run serve:local &
    python3 -m venv .venv && .venv/bin/pip install agno==3.1.10 fastapi python-multipart
    .venv/bin/python scripts/agentos-client-check.py

Each call parses kern's answers with the framework's own classes; any field it cannot read fails loudly.
"""
import asyncio

from agno.client import AgentOSClient


async def main() -> None:
    client = AgentOSClient(base_url="http://localhost:7777")
    config = await client.aget_config()
    print("config:", [t.id for t in config.teams], [w.id for w in config.workflows])

    team = await client.run_team(team_id="storytelling-team", message="Write a short story")
    print("run_team:", type(team).__name__, team.status, len(team.member_responses or []), "member runs")
    events = [e.event async for e in client.run_team_stream(team_id="storytelling-team", message="A short story")]
    print("run_team_stream:", len(events), "events,", events[0], "...", events[-1])

    workflow = await client.run_workflow(workflow_id="content-creation-workflow", message="AI trends in 2024")
    print("run_workflow:", workflow.status, [step.step_name for step in workflow.step_results or []])
    events = [e.event async for e in client.run_workflow_stream(workflow_id="content-creation-workflow", message="AI")]
    print("run_workflow_stream:", len(events), "events,", events[0], "...", events[-1])

    await client.cancel_team_run(team_id="storytelling-team", run_id="not-started-yet")
    print("cancel_team_run: ok")


asyncio.run(main())
