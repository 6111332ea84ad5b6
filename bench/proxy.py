"""A delaying HTTP proxy put in front of the payment sandbox: Stripe as slow as we say.

`python -m bench.proxy --port P --upstream http://127.0.0.1:S` forwards every request after
waiting the current delay (0 at start). `PUT /__bench__/delay` with a number of milliseconds
in the body changes it, so one run measures the shop with and without provider latency.
"""

import argparse
import asyncio

from aiohttp import ClientSession, ClientTimeout, web

CONTROL_PATH = "/__bench__/delay"
# Hop-by-hop and length headers: aiohttp sets its own for the forwarded message.
_DROPPED = {"host", "content-length", "transfer-encoding", "connection", "keep-alive",
            "content-encoding"}


def make_app(upstream: str) -> web.Application:
    """The proxy: every path goes upstream after the delay, but the control path."""
    state = {"delay": 0.0}
    app = web.Application(client_max_size=10 * 1024 * 1024)

    async def on_startup(app: web.Application) -> None:
        app["client"] = ClientSession(timeout=ClientTimeout(total=60), auto_decompress=False)

    async def on_cleanup(app: web.Application) -> None:
        await app["client"].close()

    async def set_delay(request: web.Request) -> web.Response:
        try:
            milliseconds = float((await request.text()).strip())
        except ValueError:
            return web.Response(status=400, text="send the delay in milliseconds")
        if not 0 <= milliseconds <= 10_000:
            return web.Response(status=400, text="the delay must be 0 to 10000 ms")
        state["delay"] = milliseconds / 1000
        return web.Response(text=f"{milliseconds:g}")

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        if state["delay"]:
            await asyncio.sleep(state["delay"])
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        async with app["client"].request(request.method, upstream + request.path_qs,
                                         headers=headers, data=body,
                                         allow_redirects=False) as answer:
            content = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED}
            return web.Response(status=answer.status, body=content, headers=kept)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_put(CONTROL_PATH, set_delay)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    web.run_app(make_app(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
