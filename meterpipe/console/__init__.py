"""The web console: a small ASGI app over ``meterpipe/ops``, server-rendered, on 127.0.0.1 only.

Every page has a stable URL and a JSON twin (the same path plus ``.json``). Every read and action
goes through boto3, so the same pages work against localcloud and a deployed stack.
"""
