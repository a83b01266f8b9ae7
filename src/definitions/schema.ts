/**
 * The MCP proxy definition: a Tyk OAS document (OpenAPI 3.0.3 plus the `x-tyk-api-gateway`
 * extension), as one valibot schema.
 *
 * Field names and shapes follow Tyk's OAS extension schema, so a Tyk user's definitions load
 * unchanged. Objects are loose: fields Tyk has and this gateway does not act on are kept, not
 * refused. Every field the reference pages name is typed here (later features add behaviour, not
 * schema): listen path, authentication with security schemes and Protected Resource Metadata,
 * upstream with rate limit and upstream authentication, global and per-operation middleware, and
 * the `mcpTools`, `mcpResources` and `mcpPrompts` maps of per-primitive middleware.
 */
import * as v from "valibot";
import { HTTP_TOKEN } from "../http/headers.ts";
import { parseIpRange } from "../http/ip.ts";
import { configuredPathProblem, writtenPathOf } from "../http/path.ts";
import { normaliseOrigin } from "../http/origins.ts";

const enabled = v.boolean();

/** A Tyk duration such as `"1m"`, `"1h30m"`, `"10s"`. */
export const TykDuration = v.pipe(
  v.string(),
  v.regex(/^(\d+h)?(\d+m)?(\d+s)?$/, 'must be a duration such as "10s", "1m" or "1h30m"'),
  v.check((value) => value !== "" && durationMs(value) > 0, "must be longer than zero"),
);

/** A Tyk duration (`"1h30m"`, `"10s"`) in milliseconds. */
export function durationMs(duration: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match) return Number.NaN;
  const [, hours = "0", minutes = "0", seconds = "0"] = match;
  return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
}

const Allowance = v.looseObject({ enabled, ignoreCase: v.optional(v.boolean()) });
const EnabledOnly = v.looseObject({ enabled });

export const RateLimit = v.looseObject({
  enabled,
  rate: v.pipe(v.number(), v.minValue(0)),
  per: TykDuration,
});

const EnforceTimeout = v.looseObject({ enabled, value: v.pipe(v.number(), v.integer(), v.minValue(0)) });
const RequestSizeLimit = v.looseObject({ enabled, value: v.pipe(v.number(), v.integer(), v.minValue(0)) });
const CircuitBreaker = v.looseObject({
  enabled,
  threshold: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  sampleSize: v.pipe(v.number(), v.integer(), v.minValue(0)),
  coolDownPeriod: v.pipe(v.number(), v.integer(), v.minValue(0)),
  halfOpenStateEnabled: v.boolean(),
});
const Header = v.looseObject({ name: v.string(), value: v.string() });
const TransformHeaders = v.looseObject({
  enabled,
  remove: v.optional(v.array(v.string())),
  add: v.optional(v.array(Header)),
});
const TransformBody = v.looseObject({
  enabled,
  format: v.picklist(["json", "xml"]),
  path: v.optional(v.string()),
  body: v.optional(v.string()),
});
const CachePlugin = v.looseObject({
  enabled,
  cacheByRegex: v.optional(v.string()),
  cacheResponseCodes: v.optional(v.array(v.number())),
  timeout: v.optional(v.number()),
});
const MockResponse = v.looseObject({
  enabled,
  code: v.optional(v.number()),
  body: v.optional(v.string()),
  headers: v.optional(v.array(Header)),
});
const UrlRewrite = v.looseObject({ enabled, pattern: v.string(), rewriteTo: v.string() });

/**
 * Middleware on one operation, and on one MCP primitive (`mcpTools.<name>`, …). On primitives,
 * `transformRequestMethod`, `transformResponseBody`, `urlRewrite`, `cache` and `mockResponse` are
 * accepted for compatibility and ignored, as Tyk ignores them.
 */
export const Operation = v.looseObject({
  allow: v.optional(Allowance),
  block: v.optional(Allowance),
  ignoreAuthentication: v.optional(Allowance),
  internal: v.optional(EnabledOnly),
  rateLimit: v.optional(RateLimit),
  enforceTimeout: v.optional(EnforceTimeout),
  circuitBreaker: v.optional(CircuitBreaker),
  requestSizeLimit: v.optional(RequestSizeLimit),
  transformRequestHeaders: v.optional(TransformHeaders),
  transformResponseHeaders: v.optional(TransformHeaders),
  transformRequestMethod: v.optional(v.looseObject({ enabled, toMethod: v.string() })),
  transformRequestBody: v.optional(TransformBody),
  transformResponseBody: v.optional(TransformBody),
  urlRewrite: v.optional(UrlRewrite),
  cache: v.optional(CachePlugin),
  mockResponse: v.optional(MockResponse),
  trackEndpoint: v.optional(EnabledOnly),
  doNotTrackEndpoint: v.optional(EnabledOnly),
  validateRequest: v.optional(v.looseObject({ enabled, errorResponseCode: v.optional(v.number()) })),
});
export type Operation = v.InferOutput<typeof Operation>;

const PrimitiveMap = v.record(v.pipe(v.string(), v.minLength(1)), Operation);

const HttpToken = (what: string) => v.pipe(v.string(), v.regex(HTTP_TOKEN, `must be ${what} (an HTTP token)`));

const Cors = v.pipe(
  v.looseObject({
    enabled,
    allowedOrigins: v.optional(v.array(v.pipe(v.string(), v.regex(/^\s*[^\s,]+\s*$/, "must be one origin, without spaces or commas")))),
    allowedMethods: v.optional(v.array(HttpToken("an HTTP method"))),
    allowedHeaders: v.optional(v.array(HttpToken("a header name"))),
    exposedHeaders: v.optional(v.array(HttpToken("a header name"))),
    allowCredentials: v.optional(v.boolean()),
    maxAge: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    optionsPassthrough: v.optional(v.boolean()),
  }),
  // Fail closed: any site could then make credentialed requests (cookies, a client certificate) and
  // read the answers. The Fetch standard forbids `*` with credentials for that reason.
  v.check(
    (cors) => !(cors.allowCredentials === true && (cors.allowedOrigins ?? []).some((o) => normaliseOrigin(o) === "*")),
    'allowCredentials cannot be combined with allowedOrigins "*": list the origins that may send credentials',
  ),
);

export const Middleware = v.looseObject({
  global: v.optional(
    v.looseObject({
      cors: v.optional(Cors),
      cache: v.optional(v.looseObject({ enabled, timeout: v.optional(v.number()) })),
      requestSizeLimit: v.optional(RequestSizeLimit),
      transformRequestHeaders: v.optional(TransformHeaders),
      transformResponseHeaders: v.optional(TransformHeaders),
      trafficLogs: v.optional(v.looseObject({ enabled })),
      /**
       * What the limits do when their backend cannot be reached (this gateway's own setting; Tyk has
       * none): `allow` lets the request through, `refuse` answers 503. Default: rate limits allow,
       * quotas refuse.
       */
      limiterUnavailable: v.optional(
        v.looseObject({
          rateLimits: v.optional(v.picklist(["allow", "refuse"], 'must be "allow" or "refuse"')),
          quotas: v.optional(v.picklist(["allow", "refuse"], 'must be "allow" or "refuse"')),
        }),
      ),
      skipRateLimit: v.optional(v.boolean()),
      skipQuota: v.optional(v.boolean()),
    }),
  ),
  operations: v.optional(v.record(v.string(), Operation)),
  mcpTools: v.optional(PrimitiveMap),
  mcpResources: v.optional(PrimitiveMap),
  mcpPrompts: v.optional(PrimitiveMap),
});

const AuthSource = v.looseObject({ enabled, name: v.optional(v.string()) });

/** One entry of `server.authentication.securitySchemes` (auth token, JWT, OAuth …). */
export const SecurityScheme = v.looseObject({
  enabled,
  header: v.optional(AuthSource),
  query: v.optional(AuthSource),
  cookie: v.optional(AuthSource),
  enableClientCertificate: v.optional(v.boolean()),
  // JWT
  source: v.optional(v.string()),
  signingMethod: v.optional(v.string()),
  identityBaseField: v.optional(v.string()),
  subjectClaims: v.optional(v.array(v.string())),
  jwksURIs: v.optional(v.nullable(v.array(v.looseObject({ url: v.pipe(v.string(), v.url()), cacheTimeout: v.optional(v.number()) })))),
  policyFieldName: v.optional(v.string()),
  basePolicyClaims: v.optional(v.array(v.string())),
  allowedIssuers: v.optional(v.array(v.string())),
  allowedAudiences: v.optional(v.array(v.string())),
  allowedSubjects: v.optional(v.array(v.string())),
  defaultPolicies: v.optional(v.array(v.string())),
  scopes: v.optional(
    v.looseObject({
      claimName: v.optional(v.string()),
      claims: v.optional(v.array(v.string())),
      scopeToPolicyMapping: v.optional(v.array(v.looseObject({ scope: v.string(), policyId: v.string() }))),
    }),
  ),
  issuedAtValidationSkew: v.optional(v.number()),
  notBeforeValidationSkew: v.optional(v.number()),
  expiresAtValidationSkew: v.optional(v.number()),
});

/** RFC 9728 Protected Resource Metadata, as configured on an MCP proxy. */
export const ProtectedResourceMetadata = v.looseObject({
  enabled,
  resource: v.optional(v.string()),
  authorizationServers: v.optional(v.array(v.string())),
  scopesSupported: v.optional(v.array(v.string())),
  bearerMethodsSupported: v.optional(v.array(v.string())),
  resourceDocumentation: v.optional(v.string()),
  resourceName: v.optional(v.string()),
});

export const Authentication = v.looseObject({
  enabled,
  stripAuthorizationData: v.optional(v.boolean()),
  baseIdentityProvider: v.optional(v.string()),
  securitySchemes: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9.\-_]+$/)), SecurityScheme)),
  securityProcessingMode: v.optional(v.picklist(["legacy", "compliant"])),
  protectedResourceMetadata: v.optional(ProtectedResourceMetadata),
});

export const ListenPath = v.looseObject({
  value: v.pipe(
    v.string(),
    v.regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/, "must start with / and contain only URL path characters"),
    // Requests are routed by their canonical path: a listen path must be one to be matched at all.
    v.rawCheck(({ dataset, addIssue }) => {
      const problem = dataset.typed ? configuredPathProblem(dataset.value) : undefined;
      if (problem) addIssue({ message: `must be a canonical path: it has ${problem}` });
    }),
  ),
  strip: v.optional(v.boolean()),
});

/** An IPv4 or IPv6 address, or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`). */
const IpOrCidr = v.pipe(
  v.string(),
  v.check((value) => parseIpRange(value) !== undefined, "must be an IP address or a CIDR range such as 10.0.0.0/8"),
);

export const Server = v.looseObject({
  listenPath: ListenPath,
  authentication: v.optional(Authentication),
  clientCertificates: v.optional(v.looseObject({ enabled, allowlist: v.optional(v.array(v.string())) })),
  customDomain: v.optional(v.looseObject({ enabled, name: v.string(), certificates: v.optional(v.array(v.string())) })),
  ipAccessControl: v.optional(v.looseObject({ enabled, allow: v.optional(v.array(IpOrCidr)), block: v.optional(v.array(IpOrCidr)) })),
  batchProcessing: v.optional(EnabledOnly),
  detailedActivityLogs: v.optional(EnabledOnly),
  detailedTracing: v.optional(EnabledOnly),
});

export const Upstream = v.looseObject({
  url: v.pipe(
    v.string(),
    v.url("must be an absolute URL"),
    v.regex(/^[Hh][Tt][Tt][Pp][Ss]?:\/\//, "must be an http or https URL"),
    // The forwarded path is the canonical request path below this one: it must be canonical too.
    v.rawCheck(({ dataset, addIssue }) => {
      const path = dataset.typed ? writtenPathOf(dataset.value) : undefined;
      const problem = path === undefined ? undefined : configuredPathProblem(path);
      if (problem) addIssue({ message: `must have a canonical path: it has ${problem}` });
    }),
  ),
  rateLimit: v.optional(RateLimit),
  authentication: v.optional(
    v.looseObject({
      enabled,
      basicAuth: v.optional(v.looseObject({ enabled, header: v.optional(AuthSource), username: v.string(), password: v.string() })),
      oauth: v.optional(
        v.looseObject({
          enabled,
          allowedAuthorizeTypes: v.optional(v.nullable(v.array(v.picklist(["clientCredentials", "password"])))),
          clientCredentials: v.optional(
            v.looseObject({
              clientId: v.string(),
              clientSecret: v.string(),
              tokenUrl: v.string(),
              scopes: v.optional(v.nullable(v.array(v.string()))),
              header: v.optional(AuthSource),
            }),
          ),
        }),
      ),
    }),
  ),
  preserveHostHeader: v.optional(EnabledOnly),
});

export const Versioning = v.looseObject({
  enabled: v.optional(v.boolean()),
  name: v.optional(v.string()),
  default: v.optional(v.string()),
  location: v.picklist(["header", "url-param", "url"]),
  key: v.pipe(v.string(), v.minLength(1)),
  versions: v.optional(v.array(v.looseObject({ name: v.string(), id: v.string() }))),
  stripVersioningData: v.optional(v.boolean()),
  fallbackToDefault: v.optional(v.boolean()),
  urlVersioningPattern: v.optional(v.string()),
});

export const TykExtension = v.looseObject({
  info: v.looseObject({
    id: v.optional(v.string()),
    dbId: v.optional(v.string()),
    orgId: v.optional(v.string()),
    name: v.pipe(v.string(), v.regex(/\S/, "must not be empty")),
    expiration: v.optional(v.string()),
    state: v.looseObject({ active: v.boolean(), internal: v.optional(v.boolean()) }),
    versioning: v.optional(Versioning),
  }),
  server: Server,
  upstream: Upstream,
  middleware: v.optional(Middleware),
});
export type TykExtension = v.InferOutput<typeof TykExtension>;

/** The whole MCP proxy definition. */
export const McpDefinition = v.looseObject({
  openapi: v.pipe(v.string(), v.regex(/^3\.(0|1)\.\d+$/, "must be an OpenAPI 3.0.x or 3.1.x version")),
  info: v.looseObject({ title: v.string(), version: v.string() }),
  paths: v.record(v.string(), v.unknown()),
  components: v.optional(v.looseObject({ securitySchemes: v.optional(v.record(v.string(), v.unknown())) })),
  security: v.optional(v.array(v.record(v.string(), v.array(v.string())))),
  "x-tyk-api-gateway": TykExtension,
});
export type McpDefinition = v.InferOutput<typeof McpDefinition>;

/** The result of validating a definition: the typed definition, or readable issues. */
export type Validated = { ok: true; definition: McpDefinition } | { ok: false; issues: string[] };

/** Validates an unknown value as an MCP proxy definition. */
export function validateDefinition(input: unknown): Validated {
  const result = v.safeParse(McpDefinition, input);
  if (result.success) return { ok: true, definition: result.output };
  return {
    ok: false,
    issues: result.issues.map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path}: ${issue.message}` : issue.message;
    }),
  };
}

/**
 * A definition that passes the schema but cannot work (a JWT scheme whose key cannot be used, …),
 * found when its parts are compiled for the request path. `field` is the dotted path of the field at
 * fault, as the schema's own issues name fields.
 */
export class DefinitionError extends Error {
  override readonly name = "DefinitionError";
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
  }
}
