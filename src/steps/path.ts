/**
 * path: the request path in its one canonical form (`http/path.ts`), set on `state.path` for
 * everything after: the gateway's own endpoints, routing, and the URL forwarded upstream. A path
 * with an encoded slash or backslash, a malformed percent-encoding, a control character or an empty
 * segment gets 400.
 */
import { GatewayError } from "../errors.ts";
import { normalisePath, pathOfUrl } from "../http/path.ts";
import type { Step } from "./step.ts";

export const path: Step = {
  name: "path",
  run(c, state) {
    const result = normalisePath(pathOfUrl(c.req.url));
    if (!result.ok) throw new GatewayError("invalid_path", `Bad Request: the path has ${result.problem}`);
    state.path = result.path;
  },
};
