import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './views/App.js';
import { startConnection } from './stores/connect.js';
import './styles.css';

startConnection();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
