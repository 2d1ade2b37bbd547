#!/usr/bin/env python3
"""A Python agent speaking the sidecar IPC protocol with the standard library only, the way
chatixia-mesh's MeshClient does (asyncio Unix socket, JSON lines, no register_agent).

Usage: py_agent.py SOCKET [GREET_PEER] [--ask PEER AGENT TEXT [--cancel-after N]]
- answers task_request for skill "py_upper" with the upper-cased args.text, and for "echo" with
  {"from": "python", "args": …} (a built-in of the sidecar has the same name)
- answers a "py_ping" message with "py_pong" (same request_id)
- when GREET_PEER is given, sends it {"type": "hello_from_python"} once a peer_connected
  or peer_list names it
- with --ask, sends AGENT on PEER an agent_prompt and prints each streamed chunk and the answer;
  --cancel-after N sends `cancel` for it after N chunks
Prints one JSON line per event it handled to stdout, so the test can follow it.
"""
import asyncio
import json
import sys


async def main() -> None:
    args = sys.argv[1:]
    ask = None
    if "--ask" in args:
        i = args.index("--ask")
        ask = {"peer": args[i + 1], "agent": args[i + 2], "text": args[i + 3]}
        args = args[:i] + args[i + 4:]
    cancel_after = 0
    if "--cancel-after" in args:
        i = args.index("--cancel-after")
        cancel_after = int(args[i + 1])
        args = args[:i] + args[i + 2:]
    sock = args[0]
    greet = args[1] if len(args) > 1 else ""
    reader, writer = await asyncio.open_unix_connection(sock, limit=128 * 1024 * 1024)
    greeted = False

    async def send_ipc(msg: dict) -> None:
        writer.write((json.dumps(msg) + "\n").encode())
        await writer.drain()

    async def send(target: str, message: dict) -> None:
        full = {"type": "", "request_id": "", "source_agent": "py-agent", "target_agent": "", "payload": {}}
        full.update(message)
        await send_ipc({"type": "send", "payload": {"target_peer": target, "message": full}})

    async def maybe_greet(peers) -> None:
        nonlocal greeted
        if greet and not greeted and greet in peers:
            greeted = True
            await send(greet, {"type": "hello_from_python", "payload": {"lang": "python"}})
            print(json.dumps({"event": "greeted", "peer": greet}), flush=True)

    await send_ipc({"type": "list_peers", "payload": {}})
    print(json.dumps({"event": "started"}), flush=True)
    chunks = 0
    if ask:
        # agent_prompt to an agent (e.g. an LLM agent) on a peer; its answer streams back as
        # agent_stream_chunk messages, then one agent_response (same request_id)
        await send(ask["peer"], {"type": "agent_prompt", "request_id": "py-ask-1", "target_agent": ask["agent"],
                                 "payload": {"text": ask["text"], "session_id": "py"}})
    while True:
        line = await reader.readline()
        if not line:
            break
        data = json.loads(line)
        t = data.get("type")
        p = data.get("payload", {})
        if t == "peer_list":
            await maybe_greet(p.get("peers", []))
        elif t == "peer_connected":
            await maybe_greet([p.get("peer_id")])
        elif t == "message":
            frm = p.get("from_peer", "")
            m = p.get("message", {})
            mt = m.get("type")
            skill = m.get("payload", {}).get("skill") if mt == "task_request" else None
            if skill == "echo":
                # chatixia-mesh's agents have an `echo` skill too: answers that say who answered
                await send(frm, {"type": "task_response", "request_id": m.get("request_id", ""),
                                 "target_agent": m.get("source_agent", ""),
                                 "payload": {"result": {"from": "python", "args": m.get("payload", {}).get("args")}}})
                print(json.dumps({"event": "echo", "from": frm, "target_agent": m.get("target_agent", "")}), flush=True)
            elif skill == "py_upper":
                text = str(m.get("payload", {}).get("args", {}).get("text", ""))
                await send(frm, {"type": "task_response", "request_id": m.get("request_id", ""),
                                 "target_agent": m.get("source_agent", ""),
                                 "payload": {"result": text.upper()}})
                print(json.dumps({"event": "task", "from": frm, "text": text}), flush=True)
            elif ask and m.get("request_id") == "py-ask-1" and mt == "agent_stream_chunk":
                chunks += 1
                print(json.dumps({"event": "chunk", "payload": m.get("payload")}), flush=True)
                if cancel_after and chunks == cancel_after:
                    await send(ask["peer"], {"type": "cancel", "request_id": "py-ask-1", "target_agent": ask["agent"]})
                    print(json.dumps({"event": "cancelled"}), flush=True)
            elif ask and m.get("request_id") == "py-ask-1" and mt == "agent_response":
                print(json.dumps({"event": "response", "payload": m.get("payload")}), flush=True)
            elif mt == "py_ping":
                await send(frm, {"type": "py_pong", "request_id": m.get("request_id", ""),
                                 "payload": {"echo": m.get("payload")}})
                print(json.dumps({"event": "pinged", "from": frm}), flush=True)
            else:
                print(json.dumps({"event": "message", "from": frm, "type": mt}), flush=True)
        elif t == "error":
            print(json.dumps({"event": "error", "payload": p}), flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
