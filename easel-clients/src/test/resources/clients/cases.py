"""Client cases for OpenAI's official Python SDK against the Easel proxy (run by PythonClientTest).

Usage: python cases.py <case>. The SDK reads the proxy's base URL and key from OPENAI_BASE_URL and
OPENAI_API_KEY itself; the case's inputs (image paths, model, prompt, ...) come as JSON in EASEL_CASE.
Prints one line "EASEL_RESULT <json>" with what the client got. An error the case expects is part of that
result; any other exception exits 1 with its class, status and body on stderr.
"""
import base64
import json
import os
import sys
import traceback
import urllib.request

import openai

RESULT_PREFIX = "EASEL_RESULT "


def client():
    # no SDK retries: a test must see exactly one request per call, and errors at once
    return openai.OpenAI(max_retries=0, timeout=30.0)


def edit_kwargs(args):
    kwargs = {"model": args["model"], "prompt": args["prompt"]}
    kwargs.update(args.get("params", {}))
    return kwargs


def single(args):
    with open(args["images"][0], "rb") as image:
        response = client().images.edit(image=image, **edit_kwargs(args))
    return {"response": response.to_dict()}


def in_memory(args):
    # raw bytes without a file name: the SDK names the part "upload" and cannot tell its type
    with open(args["images"][0], "rb") as image:
        data = image.read()
    response = client().images.edit(image=data, **edit_kwargs(args))
    return {"response": response.to_dict()}


def several(args):
    images = [open(path, "rb") for path in args["images"]]
    try:
        response = client().images.edit(image=images, **edit_kwargs(args))
    finally:
        for image in images:
            image.close()
    return {"response": response.to_dict()}


def mask(args):
    with open(args["images"][0], "rb") as image, open(args["mask"], "rb") as mask_file:
        response = client().images.edit(image=image, mask=mask_file, **edit_kwargs(args))
    return {"response": response.to_dict()}


def url(args):
    with open(args["images"][0], "rb") as image:
        response = client().images.edit(image=image, response_format="url", **edit_kwargs(args))
    # what an application does with a URL answer: download it, without the API key
    with urllib.request.urlopen(response.data[0].url, timeout=30) as download:
        body = download.read()
        content_type = download.headers.get("Content-Type")
        status = download.status
    return {"response": response.to_dict(),
            "download": {"status": status, "content_type": content_type,
                         "b64": base64.b64encode(body).decode("ascii")}}


# the events a stream delivered, kept outside stream() so that error() can report those before a failure
STREAM_EVENTS = []


def stream(args):
    with open(args["images"][0], "rb") as image:
        with client().images.edit(image=image, stream=True, **edit_kwargs(args)) as response:
            for event in response:
                STREAM_EVENTS.append(event.to_dict())
    return {"events": STREAM_EVENTS}


def error(args):
    """Any of the cases above, expecting the SDK to raise one of its API errors.

    An HTTP error status gives an APIStatusError (status, headers); an error event inside a stream that has
    started gives a plain APIError, with the error object as body.
    """
    try:
        result = CASES[args["call"]](args)
    except openai.APIError as e:
        body = e.body if isinstance(e.body, dict) else {}
        status_error = isinstance(e, openai.APIStatusError)
        return {"exception": type(e).__name__,
                "api_status_error": status_error,
                "status": e.status_code if status_error else None,
                "message": body.get("message"),
                "type": e.type,
                "param": e.param,
                "code": e.code,
                "request_id": e.request_id if status_error else None,
                "retry_after": e.response.headers.get("retry-after") if status_error else None,
                "events_before_error": STREAM_EVENTS}
    return {"exception": None, "unexpected_result": result}


CASES = {"single": single, "in_memory": in_memory, "several": several, "mask": mask, "url": url, "stream": stream, "error": error}


def main():
    name = sys.argv[1]
    args = json.loads(os.environ["EASEL_CASE"])
    try:
        result = CASES[name](args)
    except Exception as e:  # the test prints this when the case fails
        status = getattr(e, "status_code", None)
        body = getattr(e, "body", None)
        print(f"unexpected {type(e).__module__}.{type(e).__name__}: status={status} body={json.dumps(body)}",
              file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
    result["client"] = {"name": "openai-python", "version": openai.__version__}
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
