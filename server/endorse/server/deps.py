"""FastAPI dependencies, as ``Annotated`` aliases routes can name in their signatures."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from endorse.server.context import Context


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


Ctx = Annotated[Context, Depends(get_context)]
