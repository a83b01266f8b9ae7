/**
 * W3C Trace Context (`traceparent`, `tracestate`): read from the client (a header, or `_meta` on an
 * MCP request), continued or started, and written for the upstream. Pure.
 *
 * `traceparent` is `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`; an all-zero id, a
 * version `ff`, or anything else malformed is ignored (a new trace starts), as the specification
 * says.
 */

/** The trace a request belongs to, and its own span. */
export interface TraceContext {
  traceId: string;
  /** The gateway's span for this request. */
  spanId: string;
  /** The caller's span, `""` when the trace starts here. */
  parentSpanId: string;
  /** The upstream call's span: the parent the upstream sees. */
  upstreamSpanId: string;
  sampled: boolean;
  /** The caller's `tracestate`, passed on as it came. */
  traceState: string | undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The parts of a `traceparent` value, `undefined` when it is not one. */
export function parseTraceparent(value: string | undefined): { traceId: string; parentId: string; sampled: boolean } | undefined {
  if (value === undefined) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

const HEX = "0123456789abcdef";

/** `bytes` random bytes as lower-case hex, never all zero. Math.random: ids, not secrets. */
export function randomHex(bytes: number): string {
  let out = "";
  for (let i = 0; i < bytes * 2; i++) out += HEX[(Math.random() * 16) | 0];
  return /^0+$/.test(out) ? `${out.slice(0, -1)}1` : out;
}

/** The `traceparent` the upstream gets: this trace, with the upstream call's span as its parent. */
export function traceparentFor(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.upstreamSpanId}-${trace.sampled ? "01" : "00"}`;
}

/**
 * The trace of a request: the caller's continued, or a new one.
 *
 * @param sample decides whether a new trace (or, when `parentBased` is off, any trace) is sampled
 */
export function startTrace(
  traceparent: string | undefined,
  tracestate: string | undefined,
  sample: (traceId: string, parentSampled: boolean | undefined) => boolean,
): TraceContext {
  const parent = parseTraceparent(traceparent);
  const traceId = parent?.traceId ?? randomHex(16);
  return {
    traceId,
    spanId: randomHex(8),
    parentSpanId: parent?.parentId ?? "",
    upstreamSpanId: randomHex(8),
    sampled: sample(traceId, parent?.sampled),
    traceState: parent === undefined ? undefined : tracestate,
  };
}

/**
 * A sampler as Tyk configures one: `AlwaysOn`, `AlwaysOff`, or `TraceIDRatioBased` with `rate`
 * (on the trace id, so every gateway decides alike); `parentBased` follows the caller's flag when
 * there is a caller.
 */
export function sampler(type: "AlwaysOn" | "AlwaysOff" | "TraceIDRatioBased", rate: number, parentBased: boolean) {
  const own = (traceId: string): boolean => {
    if (type === "AlwaysOn") return true;
    if (type === "AlwaysOff") return false;
    // The trace id's last 8 hex digits as a fraction of 2^32.
    return Number.parseInt(traceId.slice(-8), 16) / 0x1_0000_0000 < rate;
  };
  return (traceId: string, parentSampled: boolean | undefined) =>
    parentBased && parentSampled !== undefined ? parentSampled : own(traceId);
}

/**
 * The `traceparent`/`tracestate` an MCP request carries in `params._meta`, read from the message's
 * bytes only when they mention it (the message was checked by `read` already).
 */
export function metaTraceContext(body: Uint8Array | undefined): { traceparent?: string; tracestate?: string } | undefined {
  if (body === undefined || body.byteLength < 11) return undefined;
  const text = new TextDecoder().decode(body);
  if (!text.includes("traceparent")) return undefined;
  try {
    const meta = (JSON.parse(text) as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
    if (meta === undefined || meta === null || typeof meta !== "object") return undefined;
    const traceparent = typeof meta.traceparent === "string" ? meta.traceparent : undefined;
    const tracestate = typeof meta.tracestate === "string" ? meta.tracestate : undefined;
    return traceparent === undefined ? undefined : { traceparent, ...(tracestate === undefined ? {} : { tracestate }) };
  } catch {
    return undefined;
  }
}
