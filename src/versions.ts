/** Versions the generated workspaces depend on: the one place they are written. */
export const versions = {
  typescript: '~5.9.3',
  typesNode: '^20.19.0',
  vitest: '^4.1.0',
  node: '>=20.12',
} as const
