"""The HTTP edge for hits: pixel, beacon, snippet, tracked redirect and postback."""
