/**
 * The access evaluator: what one consumer may call and see on one API. Pure.
 *
 * Rules, as Tyk evaluates them:
 * - patterns are Go regular expressions matched against the WHOLE name (`^(?:pattern)$`); they run on
 *   RE2 (`re2js`, linear time), so no pattern can stall the gateway, whatever a user writes;
 * - a blocked pattern is checked before the allowed ones; a non-empty allowed list must match;
 * - `json_rpc_methods_access_rights` applies to the JSON-RPC method; `mcp_access_rights` to the tool
 *   (by name), resource (by URI; resource templates by URI template) or prompt (by name);
 * - several policies granting the same API: a method or primitive is allowed when at least one of
 *   them allows it (the union of the policies' grants);
 * - the definition's per-primitive `allow`/`block` middleware (`mcpTools.<name>.allow|block`) applies
 *   to every consumer on top: a blocked primitive is denied; once any primitive of a type has `allow`
 *   on, only the allowed ones of that type pass.
 */
import { RE2JS } from "re2js";
import type { Operation } from "../definitions/schema.ts";
import type { PrimitiveType } from "../mcp/jsonrpc.ts";
import { OPEN_VISIBILITY, type AccessList, type ApiAccess, type Visibility } from "./types.ts";

/** Longest pattern accepted (characters). */
export const MAX_PATTERN_LENGTH = 1024;

export class PatternError extends Error {
  override readonly name = "PatternError";
  readonly pattern: string;
  constructor(pattern: string, reason: string) {
    super(`invalid pattern "${pattern.length > 60 ? `${pattern.slice(0, 60)}…` : pattern}": ${reason}`);
    this.pattern = pattern;
  }
}

/** Compiles one pattern to match a whole name. @throws PatternError */
export function compilePattern(pattern: string): RE2JS {
  if (typeof pattern !== "string") throw new PatternError(String(pattern), "must be a string");
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(pattern, `longer than ${MAX_PATTERN_LENGTH} characters`);
  try {
    RE2JS.compile(pattern); // on its own first: "a)|(.*" must not escape the anchors below
    return RE2JS.compile(`^(?:${pattern})$`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : "not a valid regular expression";
    throw new PatternError(pattern, reason);
  }
}

/**
 * A pattern that is a plain name in RE2 syntax: printable ASCII with none of RE2's metacharacters
 * (`\ . + * ? ( ) | [ ] { } ^ $`). Every such character matches itself and nothing else (no flag can
 * be set without `(`), so `^(?:pattern)$` matches a name exactly when the name is the pattern:
 * such patterns are looked up in a `Set` instead of running RE2 (test/policy/evaluate.test.ts holds
 * the two to the same answers).
 */
const PLAIN_NAME = /^[ !"#%&',\-/0-9:;<=>@A-Z_`a-z~]*$/;

/**
 * One allow or block list, compiled: its plain names in a set, its other patterns for RE2.
 * `empty`: the list has no pattern at all.
 */
interface CompiledPatterns {
  names: ReadonlySet<string>;
  patterns: RE2JS[];
  empty: boolean;
}

interface CompiledList {
  allowed: CompiledPatterns;
  blocked: CompiledPatterns;
}

/** @throws PatternError, for the patterns `compilePattern` refuses */
function compilePatterns(list: readonly string[] | undefined): CompiledPatterns {
  const names = new Set<string>();
  const patterns: RE2JS[] = [];
  for (const pattern of list ?? []) {
    if (typeof pattern === "string" && pattern.length <= MAX_PATTERN_LENGTH && PLAIN_NAME.test(pattern)) names.add(pattern);
    else patterns.push(compilePattern(pattern));
  }
  return { names, patterns, empty: names.size === 0 && patterns.length === 0 };
}

/** Whether any pattern of the list matches the whole name. */
function anyMatches(list: CompiledPatterns, name: string): boolean {
  if (list.names.has(name)) return true;
  const patterns = list.patterns;
  for (let i = 0; i < patterns.length; i++) if (patterns[i]!.matches(name)) return true;
  return false;
}

function compileList(list: AccessList | undefined): CompiledList {
  return { allowed: compilePatterns(list?.allowed), blocked: compilePatterns(list?.blocked) };
}

/** Blocked first; then a non-empty allowed list must match. */
function permits(list: CompiledList, name: string): boolean {
  if (!list.blocked.empty && anyMatches(list.blocked, name)) return false;
  return list.allowed.empty || anyMatches(list.allowed, name);
}

/** One access-rights entry, compiled. */
export interface CompiledAccess {
  methods: CompiledList;
  tool: CompiledList;
  resource: CompiledList;
  prompt: CompiledList;
}

/** Compiles an `access_rights` entry. @throws PatternError */
export function compileAccess(access: ApiAccess): CompiledAccess {
  const mcp = access.mcp_access_rights;
  return {
    methods: compileList(access.json_rpc_methods_access_rights),
    tool: compileList(mcp?.tools),
    resource: compileList(mcp?.resources),
    prompt: compileList(mcp?.prompts),
  };
}

/** Every pattern of an entry, for validation messages. @returns the first error, if any */
export function checkAccessPatterns(access: ApiAccess): PatternError | undefined {
  try {
    compileAccess(access);
    return undefined;
  } catch (error) {
    if (error instanceof PatternError) return error;
    throw error;
  }
}

/** A consumer's visibility: the union of the grants of the entries that give it this API. */
export function consumerVisibility(grants: readonly CompiledAccess[]): Visibility {
  if (grants.length === 1) {
    // The common case (one policy), asked once per request and once per item of a listing.
    const only = grants[0]!;
    return { canCall: (method) => permits(only.methods, method), canSee: (type, name) => permits(only[type], name), basis: grants };
  }
  return {
    basis: grants,
    canCall: (method) => {
      for (const g of grants) if (permits(g.methods, method)) return true;
      return false;
    },
    canSee: (type, name) => {
      for (const g of grants) if (permits(g[type], name)) return true;
      return false;
    },
  };
}

/** Names matched exactly, and names matched without regard to case (`ignoreCase` on that entry). */
interface NameSet {
  exact: Set<string>;
  folded: Set<string>;
}
type PrimitiveRules = { blocked: NameSet; allowed: NameSet | undefined };

const newNameSet = (): NameSet => ({ exact: new Set(), folded: new Set() });
const addName = (set: NameSet, name: string, ignoreCase: boolean | undefined) =>
  ignoreCase ? set.folded.add(name.toLowerCase()) : set.exact.add(name);
const hasName = (set: NameSet, name: string) => set.exact.has(name) || set.folded.has(name.toLowerCase());

/** The definition's own allow/block middleware for one primitive type, compiled. */
function primitiveRules(entries: ReadonlyMap<string, Operation>): PrimitiveRules {
  const blocked = newNameSet();
  let allowed: NameSet | undefined;
  for (const [name, op] of entries) {
    if (op.block?.enabled) addName(blocked, name, op.block.ignoreCase);
    if (op.allow?.enabled) {
      allowed ??= newNameSet();
      addName(allowed, name, op.allow.ignoreCase);
    }
  }
  return { blocked, allowed };
}

function rulePermits(rules: PrimitiveRules, name: string): boolean {
  if (hasName(rules.blocked, name)) return false;
  return rules.allowed === undefined || hasName(rules.allowed, name);
}

/** The definition's allow/block middleware, for every consumer. */
export function definitionVisibility(primitives: Record<PrimitiveType, ReadonlyMap<string, Operation>>): Visibility {
  const rules = {
    tool: primitiveRules(primitives.tool),
    resource: primitiveRules(primitives.resource),
    prompt: primitiveRules(primitives.prompt),
  };
  const open = Object.values(rules).every((r) => r.blocked.exact.size + r.blocked.folded.size === 0 && r.allowed === undefined);
  if (open) return OPEN_VISIBILITY;
  // Compiled once per route: the rules are their own basis.
  return { canCall: () => true, canSee: (type, name) => rulePermits(rules[type], name), basis: [rules] };
}

/** Both must allow. */
export function bothVisible(a: Visibility, b: Visibility): Visibility {
  if (a.unrestricted) return b;
  if (b.unrestricted) return a;
  return {
    canCall: (method) => a.canCall(method) && b.canCall(method),
    canSee: (type, name) => a.canSee(type, name) && b.canSee(type, name),
    basis: a.basis !== undefined && b.basis !== undefined ? [...a.basis, ...b.basis] : undefined,
  };
}
