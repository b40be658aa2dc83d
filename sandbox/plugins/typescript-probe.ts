// Imported by catalog.ts to learn whether this process loads TypeScript: it has a type, nothing else.
export const loads: boolean = true;
