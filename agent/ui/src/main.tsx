// Entry point of the Vivo UI: read the URL, start following the agent's streams, render the app.

import { render } from 'preact';
import { startIngest } from './ingest';
import { installKeys } from './keys';
import { readUrl, syncUrl } from './state';
import './style.css';
import { App } from './views/App';

readUrl();
syncUrl();
installKeys();
startIngest();
render(<App />, document.getElementById('app')!);
