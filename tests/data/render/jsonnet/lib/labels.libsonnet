{ labels(tier):: { tier: tier, 'app.kubernetes.io/part-of': 'guestbook' } }
