// Bundle stand-in for `external-editor`: inquirer's editor prompt needs it, the generators never
// ask through an editor, and the real package brings ~0.5 MB of text encodings with it.
export class ExternalEditor {
  constructor() {
    throw new Error('The editor prompt is not available in create-foundation-module.');
  }
}
export function editAsync() {
  throw new Error('The editor prompt is not available in create-foundation-module.');
}
export class CreateFileError extends Error {}
export class ReadFileError extends Error {}
export class RemoveFileError extends Error {}
export class LaunchEditorError extends Error {}
