"""`adtrack demo`: a realistic month of ad-tracking traffic over a demo world.

scenario (the world) → traffic (visitor journeys as spool records) → bulk (through the real
loader into the store) or http (through a running server's endpoints); `app/cli/demo.py`
wires the command.
"""
