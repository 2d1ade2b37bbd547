/** The registry card's door routes by skill: its "agent" is this empty id (no SDK import here: routes load it at start). */
export const ANY_AGENT = '';
