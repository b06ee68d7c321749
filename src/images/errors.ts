import { ImageError, UserError } from "../errors.js";

/** A recipe folder is missing, unreadable, or its recipe.json is invalid. */
export class RecipeError extends UserError {}

/** No configured source has the image with this hash. */
export class ImageNotFoundError extends ImageError {
  readonly hash: string;

  constructor(hash: string, detail: string) {
    super(`image ${hash} is not available from any source: ${detail}`);
    this.hash = hash;
  }
}
