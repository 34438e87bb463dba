INSERT INTO category SELECT g, NULL, 'category ' || g FROM generate_series(1, 20) g;
INSERT INTO warehouse SELECT g, 'warehouse ' || g, 'city ' || g FROM generate_series(1, 5) g;
INSERT INTO customer (email, name) SELECT 'c' || g || '@example.com', 'customer ' || g FROM generate_series(1, 500) g;
INSERT INTO address (customer, line1, city, country) SELECT g, g || ' main street', 'city ' || (g % 40), 'FR' FROM generate_series(1, 500) g;
INSERT INTO product (category, sku, name, attrs) SELECT 1 + g % 20, 'SKU-' || g, 'product ' || g, jsonb_build_object('color', g % 7, 'size', g % 5) FROM generate_series(1, 500) g;
INSERT INTO price SELECT g, date '2026-01-01', (g % 97) + 0.99 FROM generate_series(1, 500) g;
INSERT INTO stock SELECT 1 + g % 5, g, g % 50 FROM generate_series(1, 500) g;
