export type * from "./types.js";
export { ImageNotFoundError, RecipeError } from "./errors.js";
export { isImageHash, parseImageHash, hashHex } from "./hash.js";
export { loadRecipe, parseRecipe, BUILDER_VERSION, type Recipe, type LoadedRecipe } from "./recipe.js";
export { ImageStore, defaultImageStoreRoot, type ImageStoreOptions, type StagedArchive } from "./store.js";
export { ImageBuilder, importChanges, type BuildOptions } from "./build.js";
export { ensureLoaded, loadArchive, storeFromEngine } from "./engine-io.js";
export { ImageFetcher, type ImageFetcherOptions, type FetchedImage } from "./fetch.js";
export { HttpImageSource, type HttpImageSourceOptions } from "./http-source.js";
export { packImage, type PackedImage } from "./pack.js";
export {
  BusImageSource,
  ImageServer,
  imageSubject,
  type BusImageSourceOptions,
  type ImageServerOptions,
} from "./bus-image.js";
