/**
 * endpoints: the gateway's own answers, before any API is routed: the management APIs (`/tyk/`,
 * `/api/`) and the Protected Resource Metadata documents. Each endpoint is handed in by the gateway
 * (`gateway.ts`); the first that claims the request answers it.
 */
import type { GatewayContext, RequestState } from "../context.ts";
import type { Step } from "./step.ts";

/**
 * One endpoint: `undefined` when the request is not its own; else its answer, or `undefined` from
 * the promise when it looked and found nothing to answer (the request then goes on).
 */
export type Endpoint = (c: GatewayContext, state: RequestState) => Promise<Response | undefined> | undefined;

export function endpoints(list: readonly Endpoint[]): Step {
  function from(c: GatewayContext, state: RequestState, index: number): void | Promise<void> {
    for (let i = index; i < list.length; i++) {
      const answer = list[i]!(c, state);
      if (answer === undefined) continue;
      return answer.then((response) => {
        if (response !== undefined) state.response = response;
        else return from(c, state, i + 1);
      });
    }
  }
  return {
    name: "endpoints",
    run: (c, state) => from(c, state, 0),
  };
}
