// Known defects of the server or its templates that the suite detects but does not fail on,
// until they are fixed. Each entry says where the defect is and what fixes it; the suite prints
// `known defect <id>` while it reproduces and `fixed? <id>` once it no longer does (then delete
// the entry and let the check fail normally).

/** Functional defects, checked with Scenario.knownDefect(id, ok). */
export const KNOWN_DEFECTS = {};

/**
 * axe violations (serious/critical) that are known, as `{ page, rule }` (page: a capture name
 * prefix such as '03-enrol-totp'). Reported as `known`, they do not fail a scenario. Empty: the
 * hosted pages currently pass axe.
 */
export const KNOWN_A11Y_FAILURES = [];
