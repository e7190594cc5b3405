/**
 * Default bytes of message bodies kept in memory (`--body-budget`): past it the broker pages
 * or spills bodies, and journal recovery leaves the rest on disk. One value for the config,
 * the broker and the journal; it lives in util so the core and the store can both import it
 * without importing each other.
 */
export const DEFAULT_BODY_BUDGET = 64 * 1024 * 1024;
