// The page's entry point: one typed client (the same module internal tools import), the
// collection picker, the API key and status line; each panel lives in its own module.
import { createGleanerClient, GleanerError } from "../client/index.ts";
import { setupAsk } from "./ask.js";
import { byId, el } from "./dom.js";
import { setupLibrary } from "./library.js";
import { setupSearch } from "./search.js";

const KEY_STORAGE = "gleaner.apiKey";
const COLLECTION_STORAGE = "gleaner.collection";

const client = createGleanerClient({
  baseUrl: location.origin,
  apiKey: () => sessionStorage.getItem(KEY_STORAGE),
});

/** @type {Set<(name: string) => void>} */
const listeners = new Set();
const statusLine = byId("status");
const picker = /** @type {HTMLSelectElement} */ (byId("collection"));
const keyForm = /** @type {HTMLFormElement} */ (byId("key-form"));
const keyInput = /** @type {HTMLInputElement} */ (byId("api-key"));
const keyButton = byId("key-button");

/** What every panel shares. */
const context = {
  client,
  /** The selected collection's name. */
  get collection() {
    return picker.value;
  },
  /** @param {(name: string) => void} listener */
  onCollectionChange(listener) {
    listeners.add(listener);
  },
  /** Clears a shown error once the user moves on. */
  clearError() {
    if (statusLine.classList.contains("error")) context.say("");
  },
  /** @param {string} message */
  say(message) {
    statusLine.classList.remove("error");
    statusLine.textContent = message;
  },
  /**
   * Shows an error; a missing or wrong key opens the key form.
   * @param {unknown} error
   */
  fail(error) {
    const message = error instanceof Error ? error.message : String(error);
    statusLine.classList.add("error");
    statusLine.textContent = message;
    if (error instanceof GleanerError && error.status === 401) askForKey();
  },
};

function askForKey() {
  keyForm.hidden = false;
  keyButton.hidden = false;
  keyInput.focus();
}

keyButton.addEventListener("click", () => {
  keyForm.hidden = !keyForm.hidden;
  if (!keyForm.hidden) keyInput.focus();
});
keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim());
  keyInput.value = "";
  keyForm.hidden = true;
  void loadCollections();
});
byId("key-forget").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  keyInput.value = "";
  context.say("The API key is forgotten.");
});

/** @param {string} [select] */
async function loadCollections(select) {
  try {
    const collections = await client.collections.list();
    const wanted = select ?? sessionStorage.getItem(COLLECTION_STORAGE) ?? "default";
    picker.replaceChildren(
      ...collections.map((collection) =>
        el("option", { value: collection.name, text: collection.name }),
      ),
    );
    if (collections.some((collection) => collection.name === wanted)) picker.value = wanted;
    if (sessionStorage.getItem(KEY_STORAGE)) keyButton.hidden = false;
    context.clearError();
    changed();
  } catch (error) {
    context.fail(error);
  }
}

function changed() {
  sessionStorage.setItem(COLLECTION_STORAGE, picker.value);
  for (const listener of listeners) listener(picker.value);
}

picker.addEventListener("change", changed);

const createForm = /** @type {HTMLFormElement} */ (byId("create-collection"));
createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("new-name"));
  const name = input.value.trim();
  try {
    await client.collections.create({ name });
    input.value = "";
    /** @type {HTMLDetailsElement} */ (byId("new-collection")).open = false;
    context.say(`Collection "${name}" is created.`);
    await loadCollections(name);
    picker.focus();
  } catch (error) {
    context.fail(error);
  }
});

setupLibrary(context);
setupSearch(context);
setupAsk(context);
void loadCollections();
