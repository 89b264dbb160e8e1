"""Pure, sans-I/O protocol parsers: bytes or messages in, typed records in SI units out.

Nothing here imports Home Assistant or asyncio, nor does I/O (DESIGN.md, "Rules of the house").
"""
