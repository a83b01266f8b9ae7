/** The dashboard page (placeholder until the page lands). */
export function dashboardHtml(): string {
  return "<!doctype html><title>MCP gateway</title>";
}
