/** The registry's version, as /healthz, the A2A cards and the MCP server report it. */
export const VERSION = '0.1.0';
