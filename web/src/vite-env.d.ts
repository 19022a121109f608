// Vite lets the app import its stylesheet; the import has no value.
declare module "*.css";
