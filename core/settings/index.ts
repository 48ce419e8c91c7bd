/**
 * Configuration: one table of settings (`settings.ts`), read from flags and the environment
 * (`load.ts`) and validated once at start-up, printed by `crema config` and the README (`describe.ts`).
 */
export { COMMAND_FLAGS, COMMAND_SUMMARIES, COMMANDS, type Command, type CommandFlag, type Setting, type SettingSource, maskUrl, settingLabel } from './setting.js';
export { type Config, SETTINGS, type SettingName, type SettingValues, type SettingsOf, type StageConfig } from './settings.js';
export { type LoadedSettings, type ResolvedSetting, commandOptions, loadConfig, loadSettings, readsSetting } from './load.js';
export { describeConfig, settingsMarkdown, wantsMarkdown } from './describe.js';
