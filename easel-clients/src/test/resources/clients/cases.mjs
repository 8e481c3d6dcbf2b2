// Client cases for OpenAI's official Node SDK against the Easel proxy (run by NodeClientTest).
//
// Usage: node cases.mjs <case> (from the directory holding node_modules/openai). The SDK reads the proxy's
// base URL and key from OPENAI_BASE_URL and OPENAI_API_KEY itself; the case's inputs (image paths, model,
// prompt, ...) come as JSON in EASEL_CASE. Prints one line "EASEL_RESULT <json>" with what the client got. An
// error the case expects is part of that result; any other exception exits 1 with its class, status and body
// on stderr.
import fs from 'node:fs';
import OpenAI, { toFile } from 'openai';
import { VERSION } from 'openai/version';

const RESULT_PREFIX = 'EASEL_RESULT ';

// no SDK retries: a test must see exactly one request per call, and errors at once
const client = () => new OpenAI({ maxRetries: 0, timeout: 30_000 });

const editParams = (args) => ({ model: args.model, prompt: args.prompt, ...(args.params ?? {}) });

// fs.createReadStream is what the SDK's README uses: a streamed upload whose file name comes from the path
const single = async (args) => ({
  response: await client().images.edit({ image: fs.createReadStream(args.images[0]), ...editParams(args) }),
});

// a Buffer without a name: the SDK's toFile names it 'unknown_file' and gives it no image type
const in_memory = async (args) => ({
  response: await client().images.edit({ image: await toFile(fs.readFileSync(args.images[0])), ...editParams(args) }),
});

const several = async (args) => ({
  response: await client().images.edit({
    image: args.images.map((path) => fs.createReadStream(path)),
    ...editParams(args),
  }),
});

const mask = async (args) => ({
  response: await client().images.edit({
    image: fs.createReadStream(args.images[0]),
    mask: fs.createReadStream(args.mask),
    ...editParams(args),
  }),
});

const url = async (args) => {
  const response = await client().images.edit({
    image: fs.createReadStream(args.images[0]),
    response_format: 'url',
    ...editParams(args),
  });
  // what an application does with a URL answer: download it, without the API key
  const download = await fetch(response.data[0].url);
  const body = Buffer.from(await download.arrayBuffer());
  return {
    response,
    download: {
      status: download.status,
      content_type: download.headers.get('content-type'),
      b64: body.toString('base64'),
    },
  };
};

// the events a stream delivered, kept outside stream() so that error() can report those before a failure
const streamEvents = [];

const stream = async (args) => {
  const response = await client().images.edit({
    image: fs.createReadStream(args.images[0]),
    stream: true,
    ...editParams(args),
  });
  for await (const event of response) {
    streamEvents.push(event);
  }
  return { events: streamEvents };
};

// Any of the cases above, expecting the SDK to throw one of its API errors. An HTTP error status gives an
// error with a status (BadRequestError, ...); an error event inside a stream that has started gives a plain
// APIError without one.
const error = async (args) => {
  let result;
  try {
    result = await CASES[args.call](args);
  } catch (e) {
    if (!(e instanceof OpenAI.APIError)) {
      throw e;
    }
    const statusError = e.status !== undefined;
    return {
      exception: e.constructor.name,
      api_status_error: statusError,
      status: e.status ?? null,
      message: e.error?.message ?? null,
      type: e.type ?? null,
      param: e.param ?? null,
      code: e.code ?? null,
      request_id: statusError ? (e.requestID ?? null) : null,
      retry_after: e.headers?.get('retry-after') ?? null,
      events_before_error: streamEvents,
    };
  }
  return { exception: null, unexpected_result: result };
};

const CASES = { single, in_memory, several, mask, url, stream, error };

const main = async () => {
  const name = process.argv[2];
  const args = JSON.parse(process.env.EASEL_CASE);
  let result;
  try {
    result = await CASES[name](args);
  } catch (e) {
    process.stderr.write(
      `unexpected ${e?.constructor?.name}: status=${e?.status} body=${JSON.stringify(e?.error ?? null)}\n` +
        `${e?.stack ?? e}\n`,
    );
    process.exit(1);
  }
  result.client = { name: 'openai-node', version: VERSION, node: process.version };
  process.stdout.write(RESULT_PREFIX + JSON.stringify(result) + '\n');
};

await main();
