/**
 * Server-to-client requests inside a tool call, through the key-secured gateway on workerd, Bun
 * and Deno: the SDK fixture server's `test_sampling` and `test_elicitation` send
 * `sampling/createMessage` and `elicitation/create` on the tool call's own SSE stream, the official
 * SDK client answers each with a POST of its own, and the tool call then completes on the first
 * stream. Twenty in a row of each must pass on every runtime, with a short request timeout so that
 * a lost answer fails fast rather than hanging.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SecuredGateway, startSecuredGateway } from "../helpers/conformance-server.ts";
import { RUNTIMES } from "../helpers/gateways.ts";

const TIMES = 20;
/** Far above a round trip's few milliseconds; far below the SDK's 60 s default. */
const REQUEST_TIMEOUT_MS = 5_000;

describe.each(RUNTIMES)("sampling and elicitation inside a tool call, through the gateway on %s", (runtime) => {
  let secured: SecuredGateway;
  let client: Client;
  const asked = { sampling: 0, elicitation: 0 };

  beforeAll(async () => {
    secured = await startSecuredGateway(runtime);
    client = new Client({ name: "round-trips", version: "1.0.0" }, { capabilities: { sampling: {}, elicitation: { form: {} } } });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      asked.sampling++;
      const prompt = request.params.messages[0]?.content;
      return {
        role: "assistant",
        model: "test-model",
        content: { type: "text", text: `echo: ${prompt && "text" in prompt ? prompt.text : ""}` },
        stopReason: "endTurn",
      };
    });
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked.elicitation++;
      return { action: "accept", content: { username: "agent", email: "agent@example.com" } };
    });
    const transport = new StreamableHTTPClientTransport(new URL(secured.directMcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${secured.key}` } },
    });
    await client.connect(transport);
  }, 90_000);

  afterAll(async () => {
    await client?.close();
    await secured?.stop();
  });

  test(
    `test_sampling passes ${TIMES} times in a row`,
    async () => {
      for (let i = 0; i < TIMES; i++) {
        const result = await client.callTool({ name: "test_sampling", arguments: { prompt: `prompt ${i}` } }, undefined, {
          timeout: REQUEST_TIMEOUT_MS,
        });
        expect(result.isError, `call ${i}`).toBeFalsy();
        expect(result.content, `call ${i}`).toEqual([{ type: "text", text: `LLM response: echo: prompt ${i}` }]);
      }
      expect(asked.sampling).toBe(TIMES);
    },
    TIMES * REQUEST_TIMEOUT_MS,
  );

  test(
    `test_elicitation passes ${TIMES} times in a row`,
    async () => {
      for (let i = 0; i < TIMES; i++) {
        const result = await client.callTool({ name: "test_elicitation", arguments: { message: `form ${i}` } }, undefined, {
          timeout: REQUEST_TIMEOUT_MS,
        });
        expect(result.isError, `call ${i}`).toBeFalsy();
        expect(result.content, `call ${i}`).toEqual([
          { type: "text", text: 'Elicitation completed: action=accept, content={"username":"agent","email":"agent@example.com"}' },
        ]);
      }
      expect(asked.elicitation).toBe(TIMES);
    },
    TIMES * REQUEST_TIMEOUT_MS,
  );
});
