/**
 * Configuration: one table of settings (`settings.ts`), read from flags and the environment
 * (`load.ts`) and validated once at start-up, printed by `crema config` and the README (`describe.ts`).
 */
export { COMMANDS, type Command, type SettingSource, maskUrl, settingLabel } from './setting.js';
export { type Config, SETTINGS, type SettingName, type SettingValues, type SettingsOf, type StageConfig } from './settings.js';
export { type LoadedSettings, type ResolvedSetting, loadConfig, loadSettings, readsSetting } from './load.js';
export { describeConfig, settingsMarkdown, wantsMarkdown } from './describe.js';
