export function closingNotes() { return ''; }
