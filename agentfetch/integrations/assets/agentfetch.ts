/**
 * agentfetch for OpenCode: fetch a web page as clean Markdown, including pages
 * behind a company sign-in (OAuth on an identity-aware proxy); with the named
 * exports, call an internal API as the human (`agentfetch_http_request`, under
 * a permission of its own, asked before every call) and list a host's APIs
 * (`agentfetch_discover_apis`, under `webfetch`).
 *
 * Install: `agentfetch install opencode` (this project) or
 * `agentfetch install opencode --global`; save it as `webfetch.ts` instead
 * (`--replace-webfetch`) to take the place of OpenCode's built-in webfetch.
 *
 * It runs the `agentfetch` command (or $AGENTFETCH_BIN) with an argv array,
 * never through a shell, and reads its `--json` answer.
 */
import { tool } from "@opencode-ai/plugin"
import { spawn } from "node:child_process"

const DEFAULT_MAX_LENGTH = 20000
const DEFAULT_TIMEOUT_SECONDS = 30
// A browser sign-in may be under way inside agentfetch (it times out by itself
// after --auth-timeout); past this we stop waiting for the process.
const AUTH_TIMEOUT_SECONDS = 300

type FetchAnswer = {
  url: string
  final_url: string
  status: number
  content_type: string | null
  title: string | null
  markdown: string
  truncated: boolean
  next_start_index: number | null
  total_length: number
  tokens: number
}

type ErrorAnswer = {
  error: { type: string; message: string; hint?: string; exit_code: number }
}

type Finished = { code: number | null; stdout: string; stderr: string }

const AUTHORIZATION_ERRORS = new Set([
  "authorization",
  "consent_required",
  "consent_denied",
  "access_denied",
  "authorization_timeout",
  "client_identity",
])

function runAgentfetch(
  argv: string[],
  cwd: string,
  limitMs: number,
  abort: AbortSignal,
  input?: string,
): Promise<Finished> {
  const command = process.env.AGENTFETCH_BIN || "agentfetch"
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd, stdio: ["pipe", "pipe", "pipe"], shell: false })
    // A request body goes through stdin (-d @-): no argv length limit, nothing in `ps`. Without
    // one, stdin is closed at once, as "ignore" would leave it.
    child.stdin.on("error", () => {})
    child.stdin.end(input ?? "", "utf8")
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    const stop = () => child.kill("SIGTERM")
    const timer = setTimeout(stop, limitMs)
    abort.addEventListener("abort", stop, { once: true })
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      abort.removeEventListener("abort", stop)
      if (error.code === "ENOENT") {
        reject(new Error(`agentfetch is not installed or not on PATH (${command}): pip install agentfetch, or set AGENTFETCH_BIN`))
      } else {
        reject(error)
      }
    })
    child.on("close", (code: number | null) => {
      clearTimeout(timer)
      abort.removeEventListener("abort", stop)
      resolve({ code, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") })
    })
  })
}

function describeError(answer: ErrorAnswer, url: string): string {
  const { type, message, hint } = answer.error
  const lines = [`Error (${type}): ${message}`]
  if (type === "consent_required") {
    // The CLI's hint (--consent) is not something the model can pass here.
    lines.push(
      "OpenCode cannot ask the human for consent, so agentfetch did not start a sign-in. Either:",
      `- run \`agentfetch auth login ${url}\` once in a terminal, then call this tool again; or`,
      "- start OpenCode with AGENTFETCH_CONSENT=allow to approve sign-ins in advance; agentfetch then opens the sign-in page in the browser.",
    )
    return lines.join("\n")
  }
  if (hint) lines.push(`Next step: ${hint}`)
  if (AUTHORIZATION_ERRORS.has(type) && !(hint ?? "").includes("agentfetch auth login")) {
    lines.push(`To sign in by hand, the human can run \`agentfetch auth login ${url}\` in a terminal; then call again.`)
  }
  return lines.join("\n")
}

function render(answer: FetchAnswer): string {
  let text = answer.markdown.replace(/\n+$/, "")
  if (answer.truncated && answer.next_start_index !== null) {
    text +=
      `\n\n[Content cut at character ${answer.next_start_index} of ${answer.total_length}. ` +
      `Call this tool again with start_index=${answer.next_start_index} to read on.]`
  }
  return text
}

export default tool({
  description:
    "Fetch a web page or any http(s) URL and return its main content as clean Markdown. " +
    "Long pages come in pieces: when the answer ends with a note that the content was cut, " +
    "call again with the start_index the note gives. Pages behind a company sign-in work too: " +
    "agentfetch signs in on the human's behalf (OAuth) once they have agreed.",
  args: {
    url: tool.schema.string().describe("The absolute http(s) URL to fetch."),
    format: tool.schema
      .enum(["markdown", "text", "html"])
      .default("markdown")
      .describe("markdown or text: the page as Markdown; html: the content as the server sent it."),
    start_index: tool.schema
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("Start at this character: use the start_index given by a previous, cut answer."),
    max_length: tool.schema
      .number()
      .int()
      .min(1)
      .default(DEFAULT_MAX_LENGTH)
      .describe("Return at most this many characters of content."),
    timeout: tool.schema.number().min(1).max(120).optional().describe("Network timeout in seconds (at most 120)."),
  },
  async execute(args, ctx) {
    await ctx.ask({
      permission: "webfetch",
      patterns: [args.url],
      always: ["*"],
      metadata: { url: args.url, format: args.format, timeout: args.timeout },
    })
    const timeout = args.timeout ?? DEFAULT_TIMEOUT_SECONDS
    const argv = ["--json", "--max-length", String(args.max_length), "--start-index", String(args.start_index)]
    argv.push("--timeout", String(timeout))
    if (args.format === "html") argv.push("--raw")
    // "--" ends the options: a URL can never be read as a flag.
    argv.push("--", args.url)

    const limitMs = (timeout + AUTH_TIMEOUT_SECONDS + 30) * 1000
    const finished = await runAgentfetch(argv, ctx.directory, limitMs, ctx.abort)
    let answer: FetchAnswer | ErrorAnswer
    try {
      answer = JSON.parse(finished.stdout.trim().split("\n").pop() ?? "")
    } catch {
      const detail = finished.stderr.trim().split("\n").pop() || `exit status ${finished.code}`
      throw new Error(`agentfetch failed: ${detail}`)
    }
    if ("error" in answer) throw new Error(describeError(answer, args.url))
    ctx.metadata({ title: answer.title ?? answer.final_url })
    return {
      title: `${answer.final_url} (${answer.content_type ?? "unknown type"})`,
      output: render(answer),
      metadata: {
        status: answer.status,
        final_url: answer.final_url,
        truncated: answer.truncated,
        next_start_index: answer.next_start_index,
        total_length: answer.total_length,
        tokens: answer.tokens,
      },
    }
  },
})

type RequestAnswer = FetchAnswer & { method: string; headers: { [name: string]: string | string[] } }

// The response headers an answer shows (the rest are in the metadata).
const SHOWN_HEADERS = ["content-type", "location", "etag", "last-modified", "retry-after", "www-authenticate"]

function renderResponse(answer: RequestAnswer): string {
  const lines = [`HTTP ${answer.status}`]
  if (answer.final_url !== answer.url) lines.push(`(answered by ${answer.final_url} after redirects)`)
  for (const name of SHOWN_HEADERS) {
    const value = answer.headers[name]
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) lines.push(`${name}: ${one}`)
  }
  const body = render(answer)
  return lines.join("\n") + (body ? "\n\n" + body : "")
}

function parseAnswer<T>(finished: Finished): T | ErrorAnswer {
  try {
    return JSON.parse(finished.stdout.trim().split("\n").pop() ?? "")
  } catch {
    const detail = finished.stderr.trim().split("\n").pop() || `exit status ${finished.code}`
    throw new Error(`agentfetch failed: ${detail}`)
  }
}

export const http_request = tool({
  description:
    "Send an HTTP request (GET, POST, PUT, PATCH, DELETE...) with optional headers and a body to an http(s) URL, " +
    "typically an internal API, as the human: it acts with their sign-in, so each call is confirmed first. " +
    "Returns the status, the main response headers and the body (JSON pretty-printed). " +
    "Use agentfetch_discover_apis first to learn a host's API.",
  args: {
    method: tool.schema.string().describe("The HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or another."),
    url: tool.schema.string().describe("The absolute http(s) URL to send the request to."),
    headers: tool.schema
      .record(tool.schema.string(), tool.schema.string())
      .optional()
      .describe("Request headers, name to value. Never credentials: agentfetch signs in as the human itself."),
    body: tool.schema
      .string()
      .optional()
      .describe("The request body as text; sent as application/json when it is valid JSON and no Content-Type is given."),
    start_index: tool.schema.number().int().min(0).default(0).describe("Start at this character of the body."),
    max_length: tool.schema.number().int().min(1).default(DEFAULT_MAX_LENGTH).describe("At most this many characters."),
    timeout: tool.schema.number().min(1).max(120).optional().describe("Network timeout in seconds (at most 120)."),
  },
  async execute(args, ctx) {
    const method = args.method.toUpperCase()
    let origin = args.url
    try {
      origin = new URL(args.url).origin
    } catch {
      // agentfetch says what is wrong with the URL
    }
    // A permission of its own: an API call may change things in the human's name.
    await ctx.ask({
      permission: "agentfetch_http_request",
      patterns: [`${method} ${args.url}`],
      always: [`${method} ${origin}/*`],
      metadata: { method, url: args.url, headers: args.headers ?? {}, body: args.body ?? null },
    })
    const timeout = args.timeout ?? DEFAULT_TIMEOUT_SECONDS
    const argv = ["--json", "-X", method, "--max-length", String(args.max_length)]
    argv.push("--start-index", String(args.start_index), "--timeout", String(timeout))
    const headers = Object.entries(args.headers ?? {})
    for (const [name, value] of headers) argv.push("-H", `${name}: ${value}`)
    let input: string | undefined
    if (args.body !== undefined) {
      input = args.body
      argv.push("-d", "@-")
      const typed = headers.some(([name]) => name.toLowerCase() === "content-type")
      if (!typed) {
        let json = true
        try {
          JSON.parse(args.body)
        } catch {
          json = false
        }
        argv.push("-H", `Content-Type: ${json ? "application/json" : "application/x-www-form-urlencoded"}`)
      }
    }
    argv.push("--", args.url)

    const limitMs = (timeout + AUTH_TIMEOUT_SECONDS + 30) * 1000
    const finished = await runAgentfetch(argv, ctx.directory, limitMs, ctx.abort, input)
    const answer = parseAnswer<RequestAnswer>(finished)
    if ("error" in answer) throw new Error(describeError(answer, args.url))
    ctx.metadata({ title: `${method} ${answer.final_url} → ${answer.status}` })
    return {
      title: `${method} ${answer.final_url} → ${answer.status}`,
      output: renderResponse(answer),
      metadata: { status: answer.status, method: answer.method, final_url: answer.final_url, headers: answer.headers },
    }
  },
})

export const discover_apis = tool({
  description:
    "List the APIs a host offers, from its RFC 9727 API catalog: each API's URL, title, OpenAPI description, " +
    "documentation and status. With describe=true, also summarise each API's operations (method, path, " +
    "parameters, request body, scopes). Then call one with agentfetch_http_request.",
  args: {
    url: tool.schema.string().describe("The host (https://host/), one of its pages, or its catalog's URL."),
    describe: tool.schema.boolean().default(false).describe("Also fetch and summarise each API's description."),
    timeout: tool.schema.number().min(1).max(120).optional().describe("Network timeout in seconds (at most 120)."),
  },
  async execute(args, ctx) {
    await ctx.ask({ permission: "webfetch", patterns: [args.url], always: ["*"], metadata: { url: args.url } })
    const timeout = args.timeout ?? DEFAULT_TIMEOUT_SECONDS
    const argv = ["apis", "--timeout", String(timeout)]
    if (args.describe) argv.push("--describe")
    argv.push("--", args.url)
    const limitMs = (timeout + AUTH_TIMEOUT_SECONDS + 30) * 1000
    const finished = await runAgentfetch(argv, ctx.directory, limitMs, ctx.abort)
    if (finished.code !== 0) {
      const detail = finished.stderr.trim().split("\n").pop() || `exit status ${finished.code}`
      throw new Error(`agentfetch apis failed: ${detail.replace(/^error: /, "")}`)
    }
    return { title: `APIs at ${args.url}`, output: finished.stdout.replace(/\n+$/, ""), metadata: {} }
  },
})
