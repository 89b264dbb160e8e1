"""Pure, sans-I/O protocol parsers: bytes or messages in, typed records in SI units out.

Nothing in this package imports Home Assistant, asyncio or does I/O (DESIGN.md, "Rules of the house").
"""
