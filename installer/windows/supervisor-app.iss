; Inno Setup script for Windows (UNTESTED). Built by installer\windows\build-installer.ps1.
; Per-user data (catalogs, caches: %LOCALAPPDATA%\supervisor-app) is never touched by the uninstaller.
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
[Setup]
AppId={{6E0C5A2E-3C0B-4C59-9F0E-5A3B2D1C7E11}
AppName=Supervisor
AppVersion={#AppVersion}
DefaultDirName={autopf}\Supervisor
DefaultGroupName=Supervisor
OutputDir=..\..\dist
OutputBaseFilename=supervisor-app-{#AppVersion}-setup
Compression=lzma2/fast
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
SetupIconFile=..\build\supervisor-app.ico

[Files]
Source: "..\..\dist\supervisor-app\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Supervisor"; Filename: "{app}\Supervisor.exe"
Name: "{autodesktop}\Supervisor"; Filename: "{app}\Supervisor.exe"; Tasks: desktopicon

[Tasks]
Name: desktopicon; Description: "Create a desktop shortcut"; Flags: unchecked

[Registry]
; "Open with" Supervisor for common video types
Root: HKA; Subkey: "Software\Classes\Applications\Supervisor.exe\shell\open\command"; ValueType: string; ValueData: """{app}\Supervisor.exe"" gui ""%1"""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.mp4\OpenWithList\Supervisor.exe"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.mov\OpenWithList\Supervisor.exe"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.mkv\OpenWithList\Supervisor.exe"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.webm\OpenWithList\Supervisor.exe"; Flags: uninsdeletekey
