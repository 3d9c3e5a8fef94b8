import type { Metadata, Viewport } from "next";
import "./globals.css";

export const metadata: Metadata = { title: "Todo", description: "Tasks, kept by the Todo API" };
export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <main className="shell">{children}</main>
      </body>
    </html>
  );
}
