"""Drives kern's HTTP API with the Python framework's own client (agno 3.1.10's AgentOSClient).

    npm run serve:local &
    python3 -m venv .venv && .venv/bin/pip install agno==3.1.10 fastapi python-multipart
    .venv/bin/python scripts/agentos-client-check.py

Each call parses kern's answers with the framework's own classes; any field it cannot read fails loudly.
With KERN_CHECK_TOKEN set (the server's OS_SECURITY_KEY, or a JWT whose user is "ada"), every call sends it as
`Authorization: Bearer …`, as the framework's client is given it (its calls take `headers`); deleting sessions
then needs the `sessions:delete` scope.
"""
import asyncio
import functools
import json
import os

from agno.client import AgentOSClient
from agno.db.base import SessionType


async def main() -> None:
    client = AgentOSClient(base_url="http://localhost:7777")
    token = os.environ.get("KERN_CHECK_TOKEN")
    if token:
        authorize(client, {"Authorization": f"Bearer {token}"})
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

    first = await client.run_team(team_id="storytelling-team", message="A story about a fox", user_id="ada")
    second = await client.run_team(
        team_id="storytelling-team", message="Make it shorter", session_id=first.session_id, user_id="ada"
    )
    print("two runs in session", first.session_id, second.status)
    await asyncio.sleep(2)  # visibility follows a run by a moment
    sessions = await client.get_sessions(session_type=SessionType.TEAM, user_id="ada")
    print("get_sessions:", sessions.meta.total_count, "sessions;", [(s.session_id, s.session_type) for s in sessions.data])
    session = await client.get_session(first.session_id)
    print("get_session:", type(session).__name__, session.team_id, len(session.chat_history or []), "messages")
    runs = await client.get_session_runs(first.session_id)
    print("get_session_runs:", [(type(run).__name__, run.run_id == first.run_id, run.run_input) for run in runs])
    one = await client.get_session_run(first.session_id, second.run_id)
    print("get_session_run:", type(one).__name__, one.run_id == second.run_id, one.created_at)
    previews = await client.aget_session_run_previews(first.session_id)
    print("get_session_run_previews:", [(p.run_input, p.status) for p in previews])

    # Session management: create, rename, update.
    made = await client.create_session(
        session_type=SessionType.TEAM, session_name="Planning", session_state={"step": 1}, team_id="storytelling-team"
    )
    print("create_session:", type(made).__name__, made.session_name, made.session_state)
    renamed = await client.rename_session(made.session_id, "Planning, renamed")
    print("rename_session:", renamed.session_name)
    updated = await client.update_session(made.session_id, session_state={"step": 2}, metadata={"by": "check"})
    print("update_session:", updated.session_state, updated.metadata)

    # A run that asks first: it pauses, and the framework's own continue call (the run's tools, confirmed) goes on.
    paused = await client.run_agent(
        agent_id="emailagent",
        message='Send an email to "ada@example.com" with the subject "Hi" and the body "Lunch?"',
    )
    print("run_agent:", paused.status, [(t.tool_name, t.requires_confirmation) for t in paused.tools or []])
    print("  requirements:", [(r.id, r.needs_confirmation) for r in paused.requirements or []])
    for tool in paused.tools or []:
        tool.confirmed = True
    done = await client.continue_agent_run(
        agent_id="emailagent", run_id=paused.run_id, tools=paused.tools, session_id=paused.session_id
    )
    print("continue_agent_run:", done.status, done.content)

    # A structured answer: the agent's outputSchema, and one sent as output_schema on the run.
    script = await client.run_agent(agent_id="script-writer", message="Paris")
    print("run_agent (outputSchema):", script.content_type, type(script.content).__name__, sorted(script.content))
    schema = {"title": "City", "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    city = await client.run_agent(agent_id="emailagent", message="A city", output_schema=json.dumps(schema))
    print("run_agent (output_schema):", city.content_type, city.content)

    # Deleting sessions: one, then several; the session is not found afterwards.
    await client.delete_session(first.session_id)
    try:
        await client.get_session(first.session_id)
        print("delete_session: STILL FOUND")
    except Exception as err:  # the framework's client raises on the 404
        print("delete_session: ok, then get_session:", type(err).__name__)
    await client.delete_sessions([script.session_id, city.session_id], [SessionType.AGENT, SessionType.AGENT])
    print("delete_sessions: ok")


def authorize(client: AgentOSClient, headers: dict) -> None:
    """Gives every call of the client's the headers: each of its public calls takes `headers`."""
    for name in dir(client):
        call = getattr(client, name)
        if name.startswith("_") or not callable(call):
            continue
        setattr(client, name, functools.partial(call, headers=headers))


asyncio.run(main())
