package agentfetch.interop;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.core.OAuth2AuthenticationException;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.endpoint.OAuth2AuthorizationRequest;
import org.springframework.security.oauth2.core.oidc.OidcScopes;
import org.springframework.security.oauth2.server.authorization.OAuth2TokenType;
import org.springframework.security.oauth2.server.authorization.client.InMemoryRegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.oidc.authentication.OidcClientRegistrationAuthenticationContext;
import org.springframework.security.oauth2.server.authorization.oidc.authentication.OidcClientRegistrationAuthenticationProvider;
import org.springframework.security.oauth2.server.authorization.oidc.authentication.OidcClientRegistrationAuthenticationToken;
import org.springframework.security.oauth2.server.authorization.oidc.authentication.OidcClientRegistrationAuthenticationValidator;
import org.springframework.security.oauth2.server.authorization.settings.ClientSettings;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.LoginUrlAuthenticationEntryPoint;
import org.springframework.security.web.util.matcher.MediaTypeRequestMatcher;

/**
 * A minimal Spring Authorization Server for agentfetch's interop tests, on 127.0.0.1 only.
 *
 * <p>OpenID Connect with its Dynamic Client Registration endpoint, which takes an initial
 * access token: a client_credentials token with scope {@code client.create} of the
 * confidential client {@code registrar}. One public client, {@code agentfetch-configured},
 * is registered up front for the configured-client path. Users come from
 * {@code agentfetch.users} ({@code name:password,...}). Access tokens are JWTs whose
 * {@code aud} is the RFC 8707 {@code resource} of the authorization request, when there was one.
 */
@SpringBootApplication
public class App {

    public static void main(String[] args) {
        SpringApplication.run(App.class, args);
    }

    @Bean
    @Order(1)
    SecurityFilterChain authorizationServer(HttpSecurity http) throws Exception {
        http.oauth2AuthorizationServer((server) -> {
                http.securityMatcher(server.getEndpointsMatcher());
                server.oidc((oidc) -> oidc.clientRegistrationEndpoint((registration) ->
                    registration.authenticationProviders(App::allowScopes)));
            })
            .authorizeHttpRequests((authorize) -> authorize.anyRequest().authenticated())
            // The registration endpoint authenticates its initial access token as a resource server would.
            .oauth2ResourceServer((resourceServer) -> resourceServer.jwt(Customizer.withDefaults()))
            .exceptionHandling((exceptions) -> exceptions.defaultAuthenticationEntryPointFor(
                new LoginUrlAuthenticationEntryPoint("/login"), new MediaTypeRequestMatcher(MediaType.TEXT_HTML)));
        return http.build();
    }

    /**
     * The registration endpoint refuses every {@code scope} by default ("Invalid Client Registration:
     * scope"); as an administrator would, allow the scopes of the APIs behind this server.
     */
    private static void allowScopes(List<AuthenticationProvider> providers) {
        Consumer<OidcClientRegistrationAuthenticationContext> validator =
            OidcClientRegistrationAuthenticationValidator.DEFAULT_REDIRECT_URI_VALIDATOR
                .andThen(OidcClientRegistrationAuthenticationValidator.DEFAULT_POST_LOGOUT_REDIRECT_URI_VALIDATOR)
                .andThen(OidcClientRegistrationAuthenticationValidator.DEFAULT_JWK_SET_URI_VALIDATOR)
                .andThen(App::onlyKnownScopes);
        for (AuthenticationProvider provider : providers) {
            if (provider instanceof OidcClientRegistrationAuthenticationProvider registration) {
                registration.setAuthenticationValidator(validator);
            }
        }
    }

    private static void onlyKnownScopes(OidcClientRegistrationAuthenticationContext context) {
        OidcClientRegistrationAuthenticationToken token = context.getAuthentication();
        List<String> scopes = token.getClientRegistration().getScopes();
        if (scopes != null && !Set.of("openid", "read", "admin").containsAll(scopes)) {
            throw new OAuth2AuthenticationException(new OAuth2Error(OAuth2ErrorCodes.INVALID_SCOPE,
                "Invalid Client Registration: scope", null));
        }
    }

    @Bean
    @Order(2)
    SecurityFilterChain signIn(HttpSecurity http) throws Exception {
        http.authorizeHttpRequests((authorize) -> authorize.anyRequest().authenticated())
            .formLogin(Customizer.withDefaults());
        return http.build();
    }

    @Bean
    UserDetailsService users(@Value("${agentfetch.users}") String users) {
        InMemoryUserDetailsManager manager = new InMemoryUserDetailsManager();
        for (String entry : users.split(",")) {
            String[] pair = entry.split(":", 2);
            manager.createUser(User.withUsername(pair[0]).password("{noop}" + pair[1]).roles("USER").build());
        }
        return manager;
    }

    @Bean
    RegisteredClientRepository clients(@Value("${agentfetch.registrar-secret}") String registrarSecret) {
        RegisteredClient registrar = RegisteredClient.withId(UUID.randomUUID().toString())
            .clientId("registrar")
            .clientSecret("{noop}" + registrarSecret)
            .clientAuthenticationMethod(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
            .authorizationGrantType(AuthorizationGrantType.CLIENT_CREDENTIALS)
            .scope("client.create")
            .scope("client.read")
            .build();
        RegisteredClient configured = RegisteredClient.withId(UUID.randomUUID().toString())
            .clientId("agentfetch-configured")
            .clientName("agentfetch (configured)")
            .clientAuthenticationMethod(ClientAuthenticationMethod.NONE)
            .authorizationGrantType(AuthorizationGrantType.AUTHORIZATION_CODE)
            .authorizationGrantType(AuthorizationGrantType.REFRESH_TOKEN)
            .redirectUri("http://127.0.0.1/callback")
            .scope(OidcScopes.OPENID)
            .scope("read")
            .scope("admin")
            .clientSettings(ClientSettings.builder().requireAuthorizationConsent(true).requireProofKey(true).build())
            .build();
        return new InMemoryRegisteredClientRepository(registrar, configured);
    }

    @Bean
    OAuth2TokenCustomizer<JwtEncodingContext> resourceAudience() {
        return (context) -> {
            if (!OAuth2TokenType.ACCESS_TOKEN.equals(context.getTokenType()) || context.getAuthorization() == null) {
                return;
            }
            OAuth2AuthorizationRequest request =
                context.getAuthorization().getAttribute(OAuth2AuthorizationRequest.class.getName());
            Object resource = request == null ? null : request.getAdditionalParameters().get("resource");
            if (resource instanceof String value) {
                context.getClaims().audience(List.of(value));
            }
        };
    }

    @Bean
    JWKSource<SecurityContext> keys() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair pair = generator.generateKeyPair();
        RSAKey key = new RSAKey.Builder((RSAPublicKey) pair.getPublic())
            .privateKey((RSAPrivateKey) pair.getPrivate())
            .keyID(UUID.randomUUID().toString())
            .build();
        return new ImmutableJWKSet<>(new JWKSet(key));
    }
}
