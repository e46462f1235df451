/** Versions the generated workspaces depend on: the one place they are written. */
export const versions = {
  typescript: '~5.9.3',
  typesNode: '^20.19.0',
  vitest: '^4.1.0',
  node: '>=20.12',
  /** Default base of generated Dockerfiles (`ARG NODE_IMAGE`): an official Node slim image. */
  nodeImage: 'node:22-slim',
} as const
