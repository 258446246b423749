"""What the HTTP faces (the API in app.api, the pages in app.web) share: FastAPI dependencies
for who is calling and what the core holds, and the core's front door."""
